// JSON schemas of the HTTP API: fastify validates every body, param and querystring with them (ajv)
// and @fastify/swagger builds the OpenAPI document from the same objects. Amounts travel as decimal
// strings, addresses, hashes and signatures as 0x hex. The objects the API answers with are named
// (`$id`): createApiServer registers them once, routes refer to them (`{ $ref: 'ChannelSummary#' }`)
// and the OpenAPI document lists them under `components.schemas`.
import { CHANNEL_STATUSES } from '../types.ts'

/** An app's name: a built-in app's or one the node's configuration adds. */
export const appNameSchema = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' } as const

/** An unsigned integer below 2^256 as a decimal string (78 digits at most; the bound is checked after). */
export const uintSchema = { type: 'string', pattern: '^[0-9]+$', minLength: 1, maxLength: 78 } as const
export const addressSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const
export const hashSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } as const
/** A 65-byte secp256k1 signature (r, s, v). */
export const signatureSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{130}$' } as const

export const channelIdParamsSchema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { ...hashSchema, description: 'Channel id' } },
} as const

const termValueSchema = {
  anyOf: [
    { type: 'string', maxLength: 512 },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 512 } },
  ],
} as const

export const openRequestSchema = {
  title: 'OpenRequest',
  type: 'object',
  description: 'Opens a channel with one counterparty; both sides send the same request.',
  required: ['app', 'counterparty', 'role', 'balances', 'nonce', 'challengeDuration', 'terms'],
  additionalProperties: false,
  properties: {
    app: appNameSchema,
    counterparty: addressSchema,
    role: { type: 'string', enum: ['first', 'second'] },
    balances: { type: 'array', minItems: 2, maxItems: 2, items: uintSchema },
    nonce: uintSchema,
    challengeDuration: uintSchema,
    terms: {
      type: 'object',
      maxProperties: 32,
      propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' },
      additionalProperties: termValueSchema,
    },
    deposit: { type: 'boolean' },
  },
} as const

const actionNameSchema = { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_-]{0,63}$' } as const

/**
 * An action of the channel's app: its name (`action`, or `type`) and its named arguments (`args`,
 * or fields beside `type` as the built-in apps' actions always took them). The node checks the
 * arguments against the app's ABI types and answers 400 `INVALID_ARGUMENT` naming the argument
 * and its type.
 */
export const appActionSchema = {
  title: 'AppAction',
  type: 'object',
  description:
    'An action of the channel app: { "action": "fund", "args": { "amount": "1000", "deadline": "1700000000" } }, or, as the built-in apps always took them, { "app": "<app>", "type": "fund", "amount": "1000", "deadline": "1700000000" }. Integers as decimal strings, bytes and addresses as 0x hex, tuples as objects.',
  anyOf: [{ required: ['action'] }, { required: ['type'] }],
  maxProperties: 64,
  propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' },
  properties: {
    app: appNameSchema,
    action: actionNameSchema,
    type: actionNameSchema,
    args: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
    },
  },
} as const

export const disputeBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    force: { type: 'boolean', description: 'Take the step even when its fee exceeds what it can win.' },
  },
} as const

export const eventsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { channelId: { ...hashSchema, description: 'Only the events of this channel' } },
} as const

const uintList = { type: 'array', items: uintSchema } as const

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every error the node answers: a stable code and a short message.',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
        message: { type: 'string' },
        details: {
          description: 'What refused the request, when there is more to say (a refused action, what differs)',
        },
      },
    },
  },
} as const

/** The body fastify itself sends while the server closes (before any hook runs). */
export const closingSchema = {
  $id: 'Closing',
  type: 'object',
  description: 'The server is closing and takes no new requests.',
  required: ['error', 'message', 'statusCode'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    statusCode: { type: 'integer', const: 503 },
  },
} as const

export const onChainSchema = {
  $id: 'OnChainRecord',
  type: 'object',
  description: "The Adjudicator's record of the channel.",
  required: ['status', 'version', 'baseVersion', 'finalizesAt', 'movesUntil'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['open', 'dispute', 'concluded'] },
    version: uintSchema,
    baseVersion: uintSchema,
    finalizesAt: uintSchema,
    movesUntil: uintSchema,
  },
} as const

export const channelSummarySchema = {
  $id: 'ChannelSummary',
  type: 'object',
  description: 'One channel as this node holds it, with its one status (docs/cli.md, "Channel status").',
  required: ['channelId', 'app', 'participants', 'me', 'status', 'phase', 'version', 'balances', 'isFinal'],
  additionalProperties: false,
  properties: {
    channelId: hashSchema,
    app: appNameSchema,
    roles: {
      type: 'array',
      description: "The app's names for participant 0 and 1",
      items: { type: 'string' },
      minItems: 2,
      maxItems: 2,
    },
    participants: { type: 'array', items: addressSchema },
    me: { type: 'integer', minimum: 0 },
    status: { type: 'string', enum: [...CHANNEL_STATUSES] },
    phase: { type: 'string', enum: ['opening', 'funding', 'open', 'proposing', 'final', 'disputed'] },
    version: uintSchema,
    balances: uintList,
    isFinal: { type: 'boolean' },
    onChain: { $ref: 'OnChainRecord#' },
    withdrawable: { ...uintSchema, description: 'Wei this node may withdraw from the Adjudicator' },
    chainView: {
      type: 'object',
      description:
        "How old the node's view of the chain is; when the chain did not answer, onChain is what the node knew then",
      required: ['blockNumber', 'ageMs', 'reachable'],
      additionalProperties: false,
      properties: {
        blockNumber: uintSchema,
        ageMs: { type: 'integer', minimum: 0 },
        reachable: { type: 'boolean' },
      },
    },
  },
} as const

export const channelListSchema = {
  $id: 'ChannelList',
  type: 'object',
  required: ['channels'],
  additionalProperties: false,
  properties: { channels: { type: 'array', items: { $ref: 'ChannelSummary#' } } },
} as const

export const disputePlanSchema = {
  $id: 'DisputePlan',
  type: 'object',
  required: ['channelId', 'ours', 'next', 'payouts', 'worthIt'],
  additionalProperties: false,
  properties: {
    channelId: hashSchema,
    me: { type: 'integer', minimum: 0 },
    ours: {
      type: 'object',
      required: ['version', 'balances', 'isFinal'],
      additionalProperties: false,
      properties: {
        version: uintSchema,
        balances: uintList,
        isFinal: { type: 'boolean' },
        forced: { type: 'boolean' },
      },
    },
    held: {
      type: 'object',
      required: ['version', 'baseVersion', 'status', 'finalizesAt'],
      additionalProperties: false,
      properties: {
        version: uintSchema,
        baseVersion: uintSchema,
        balances: uintList,
        status: { type: 'string' },
        finalizesAt: uintSchema,
        movesUntil: uintSchema,
        forced: { type: 'boolean' },
        holdings: uintSchema,
      },
    },
    next: {
      type: 'object',
      required: ['step'],
      additionalProperties: false,
      properties: {
        step: {
          type: 'string',
          enum: ['register', 'force', 'conclude', 'conclude-final', 'withdraw', 'wait', 'none'],
        },
        gas: uintSchema,
        feeWei: uintSchema,
        gainWei: { type: 'string', pattern: '^-?[0-9]+$' },
        version: uintSchema,
        action: { type: 'string', pattern: '^0x([0-9a-fA-F]{2})*$' },
        until: uintSchema,
        reason: { type: 'string' },
      },
    },
    payouts: uintList,
    payoutsIfIdle: uintList,
    worthIt: { type: 'boolean' },
    now: uintSchema,
  },
} as const

export const stateSchema = {
  $id: 'State',
  type: 'object',
  required: ['channelId', 'version', 'balances', 'appData', 'isFinal'],
  additionalProperties: false,
  properties: {
    channelId: hashSchema,
    version: uintSchema,
    balances: uintList,
    appData: { type: 'string', pattern: '^0x([0-9a-fA-F]{2})*$' },
    isFinal: { type: 'boolean' },
  },
} as const

export const updateResultSchema = {
  $id: 'UpdateResult',
  type: 'object',
  description: 'The co-signed state the action produced (signatures in participant order) and its gas.',
  required: ['ok', 'signed', 'gasUsed'],
  additionalProperties: false,
  properties: {
    ok: { type: 'boolean', const: true },
    signed: {
      type: 'object',
      required: ['state', 'signatures'],
      additionalProperties: false,
      properties: { state: { $ref: 'State#' }, signatures: { type: 'array', items: signatureSchema } },
    },
    gasUsed: uintSchema,
  },
} as const

export const healthSchema = {
  $id: 'Health',
  type: 'object',
  required: ['status', 'address', 'channels'],
  properties: {
    status: { type: 'string', enum: ['ok', 'closing'] },
    address: addressSchema,
    channels: { type: 'integer', minimum: 0 },
  },
} as const

/** A response of a named schema, as routes declare it and the OpenAPI document shows it. */
export const namedResponse = (name: string, description: string) => ({ description, $ref: `${name}#` })
/** An error response (the `Error` schema). */
export const errorResponse = (description: string) => namedResponse('Error', description)

/** What every route may answer besides its success. */
export const errorResponses = {
  400: errorResponse('Invalid body, parameter or querystring'),
  401: errorResponse('Missing or wrong bearer token'),
  403: errorResponse('Not a loopback caller on a node without a token'),
  500: errorResponse('Unexpected failure'),
  503: {
    description:
      'The node is closing (fastify answers before any hook), too many event streams are open, or the MQTT broker is not connected (BROKER_UNAVAILABLE)',
    anyOf: [{ $ref: 'Error#' }, { $ref: 'Closing#' }],
  },
  504: errorResponse('The chain endpoint did not answer a JSON-RPC call in time (CHAIN_TIMEOUT)'),
}
/** What a route with a JSON body may answer besides those. */
export const bodyErrorResponses = {
  ...errorResponses,
  413: errorResponse('The body is larger than the limit'),
  415: errorResponse('The body is not application/json'),
}

/** Every named schema, in the order they are registered (a schema after those it refers to). */
export const NAMED_SCHEMAS = [
  errorSchema,
  closingSchema,
  onChainSchema,
  channelSummarySchema,
  channelListSchema,
  disputePlanSchema,
  stateSchema,
  updateResultSchema,
  healthSchema,
] as const
