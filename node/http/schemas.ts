// JSON schemas of the HTTP API: fastify validates every body, param and querystring with them (ajv)
// and @fastify/swagger builds the OpenAPI document from the same objects. Amounts travel as decimal
// strings, addresses, hashes and signatures as 0x hex.
import { APP_NAMES } from '../types.ts'

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
  type: 'object',
  description: 'Opens a channel with one counterparty; both sides send the same request.',
  required: ['app', 'counterparty', 'role', 'balances', 'nonce', 'challengeDuration', 'terms'],
  additionalProperties: false,
  properties: {
    app: { type: 'string', enum: [...APP_NAMES] },
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

/** Every app action by app and type, with the fields it carries besides `app` and `type`. */
export const APP_ACTION_VARIANTS: readonly { app: string; type: string; fields: Record<string, object> }[] = [
  { app: 'escrow', type: 'fund', fields: { amount: uintSchema, deadline: uintSchema } },
  { app: 'escrow', type: 'release', fields: {} },
  {
    app: 'escrow',
    type: 'ruling',
    fields: { toPayee: { type: 'boolean' }, arbiterSignature: signatureSchema },
  },
  { app: 'escrow', type: 'refund', fields: {} },
  { app: 'escrow', type: 'close', fields: {} },
  { app: 'tv-delivery', type: 'pay', fields: {} },
  { app: 'tv-delivery', type: 'claim', fields: {} },
  { app: 'tv-delivery', type: 'refund', fields: {} },
  { app: 'tv-delivery', type: 'close', fields: {} },
  { app: 'cold-chain', type: 'premium', fields: {} },
  { app: 'cold-chain', type: 'report', fields: {} },
  { app: 'cold-chain', type: 'close', fields: {} },
]

/** The schema of one app action variant. */
export function appActionVariantSchema(
  variant: (typeof APP_ACTION_VARIANTS)[number],
): Record<string, unknown> {
  return {
    type: 'object',
    required: ['app', 'type', ...Object.keys(variant.fields)],
    additionalProperties: false,
    properties: {
      app: { type: 'string', const: variant.app },
      type: { type: 'string', const: variant.type },
      ...variant.fields,
    },
  }
}

export const appActionSchema = {
  /** Marks the schema for the validator that picks the variant first (createValidatorCompiler.ts). */
  'x-chanvm-validator': 'app-action',
  description: 'A typed action of the channel app (amounts as decimal strings).',
  oneOf: APP_ACTION_VARIANTS.map(appActionVariantSchema),
}

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

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { description: 'The refused result of an action, when there is one' },
      },
    },
  },
} as const

const onChainSchema = {
  type: 'object',
  required: ['status', 'version', 'baseVersion', 'finalizesAt', 'movesUntil'],
  properties: {
    status: { type: 'string', enum: ['open', 'dispute', 'concluded'] },
    version: uintSchema,
    baseVersion: uintSchema,
    finalizesAt: uintSchema,
    movesUntil: uintSchema,
  },
} as const

export const channelSummarySchema = {
  type: 'object',
  required: ['channelId', 'app', 'participants', 'me', 'phase', 'version', 'balances', 'isFinal'],
  properties: {
    channelId: hashSchema,
    app: { type: 'string', enum: [...APP_NAMES] },
    participants: { type: 'array', items: addressSchema },
    me: { type: 'integer', minimum: 0 },
    phase: { type: 'string' },
    version: uintSchema,
    balances: { type: 'array', items: uintSchema },
    isFinal: { type: 'boolean' },
    onChain: onChainSchema,
  },
} as const

export const disputePlanSchema = {
  type: 'object',
  required: ['channelId', 'ours', 'next', 'payouts', 'worthIt'],
  properties: {
    channelId: hashSchema,
    ours: {
      type: 'object',
      required: ['version', 'balances', 'isFinal'],
      properties: {
        version: uintSchema,
        balances: { type: 'array', items: uintSchema },
        isFinal: { type: 'boolean' },
      },
    },
    held: {
      type: 'object',
      required: ['version', 'baseVersion', 'status', 'finalizesAt'],
      properties: {
        version: uintSchema,
        baseVersion: uintSchema,
        balances: { type: 'array', items: uintSchema },
        status: { type: 'string' },
        finalizesAt: uintSchema,
      },
    },
    next: {
      type: 'object',
      required: ['step'],
      properties: {
        step: {
          type: 'string',
          enum: ['register', 'force', 'conclude', 'conclude-final', 'withdraw', 'wait', 'none'],
        },
        gas: uintSchema,
        feeWei: uintSchema,
        until: uintSchema,
        reason: { type: 'string' },
      },
    },
    payouts: { type: 'array', items: uintSchema },
    worthIt: { type: 'boolean' },
  },
} as const

export const updateResultSchema = {
  type: 'object',
  description: 'The co-signed state the action produced (signatures in participant order) and its gas.',
  required: ['ok'],
  properties: {
    ok: { type: 'boolean' },
    signed: {
      type: 'object',
      properties: { state: { type: 'object' }, signatures: { type: 'array', items: { type: 'string' } } },
    },
    gasUsed: uintSchema,
  },
} as const

export const healthSchema = {
  type: 'object',
  required: ['status', 'address', 'channels'],
  properties: {
    status: { type: 'string', enum: ['ok', 'closing'] },
    address: addressSchema,
    channels: { type: 'integer', minimum: 0 },
  },
} as const
