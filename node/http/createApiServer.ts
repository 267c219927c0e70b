// The node's HTTP API: JSON over fastify, every input validated by the schemas in schemas.ts, an
// OpenAPI 3 document built from the same schemas, server-sent events and Prometheus metrics.
import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { ChanvmNode, OpenRequest } from '../types.ts'
import { checkApiAccess, createAuthorizer } from './authorizeRequest.ts'
import { DebugRequestLog } from './debugRequestLog.ts'
import { requestLoggerFactory } from './requestLogger.ts'
import { createMetricsRegistry } from './createMetricsRegistry.ts'
import { createValidatorCompiler, formatSchemaErrors } from './createValidatorCompiler.ts'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import { isDashboardAsset, serveDashboard } from './serveDashboard.ts'
import { errorToReply, refusedAction } from './errorToReply.ts'
import { registerEventStreamRoute } from './registerEventStreamRoute.ts'
import { registerDashboardRoutes } from './registerDashboardRoutes.ts'
import { healthToReady, readySchema } from './readySchema.ts'
import {
  appActionSchema,
  channelIdParamsSchema,
  disputeBodySchema,
  bodyErrorResponses as bodyErrors,
  errorResponse as error,
  errorResponses,
  NAMED_SCHEMAS,
  namedResponse as named,
  openRequestSchema,
} from './schemas.ts'
import { toWireJson, updateResultJson, wireToAppAction, wireToOpenRequest } from './wire.ts'

export type ApiServerOptions = {
  node: ChanvmNode
  /** The address the server will listen on; any non-loopback host requires `token`. */
  host: string
  /** 0 picks a free port. */
  port: number
  /** Bearer token every request must carry (at least 16 characters). */
  token?: string
  /**
   * fastify's logger (pino): false, true or pino options such as `{ level, stream }`. Each request
   * and its answer are logged at debug; errors at error.
   */
  logger?: FastifyServerOptions['logger']
  /** Largest request body in bytes (default 64 KiB); larger ones get 413. */
  bodyLimit?: number
  /** SSE heartbeat period (default 15,000 ms). */
  heartbeatMs?: number
  /** Event streams open at once (default 32); one more is 503. */
  maxEventStreams?: number
}

export type ApiServer = FastifyInstance & {
  /** Listens on the configured host and port; resolves with the base URL (`http://127.0.0.1:7311`). */
  start(): Promise<string>
}

/** The content type fastify gives a JSON answer. */
const JSON_TYPE = 'application/json; charset=utf-8'

const channelErrors = {
  404: error('Unknown channel'),
  409: error('The channel refuses the request'),
}

/**
 * Builds the API of `node` (not listening yet: call `start()`). Refuses, with a `CONFIG` error, a
 * non-loopback host without a token and a token shorter than 16 characters.
 *
 * @example
 * ```ts
 * const server = await createApiServer({ node, host: '127.0.0.1', port: 0, logger: false })
 * const url = await server.start() // GET `${url}/v1/health`
 * await server.close()
 * ```
 */
export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { node, host, port, token } = options
  checkApiAccess(host, token)
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new DebugRequestLog(),
    schemaErrorFormatter: formatSchemaErrors,
    ...(options.logger ? { childLoggerFactory: requestLoggerFactory } : {}),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  })
  app.setValidatorCompiler(createValidatorCompiler())
  // Bodies are JSON only: anything else is 415 before it is read.
  app.removeContentTypeParser('text/plain')
  app.setSerializerCompiler(() => (data) => toWireJson(data))
  app.setReplySerializer((payload) => toWireJson(payload))

  for (const schema of NAMED_SCHEMAS) app.addSchema(schema)
  await app.register(swagger, {
    // Named schemas appear under components.schemas by their $id, not as def-0, def-1, ...
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json['$id'] ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'chanvm node',
        version: '1',
        description:
          'One party of two-party state channels running EVM apps off chain. Amounts are decimal strings.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: token === undefined ? [] : [{ bearer: [] }],
    },
  })

  // The hooks take a callback rather than return a promise: each promise put the request's next
  // step behind a microtask.
  const authorize = createAuthorizer(token)
  app.addHook('onRequest', (request, reply, done) => {
    if (isDashboardAsset(request.method, request.url)) return done()
    const verdict = authorize({
      authorization: request.headers.authorization,
      remoteAddress: request.socket.remoteAddress,
      host: request.headers.host,
    })
    if (verdict.ok) return done()
    if (verdict.status === 401) void reply.header('www-authenticate', 'Bearer')
    void reply.status(verdict.status).send({ error: { code: verdict.code, message: verdict.message } })
  })
  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = errorToReply(error)
    if (internal) request.log.error({ err: error }, 'request failed')
    return reply.status(status).send(body)
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } }),
  )

  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // While closing, a connection that finishes its request is closed too, so close() need not wait
  // for keep-alive connections to time out.
  app.addHook('onSend', (_request, reply, _payload, done) => {
    if (closing) void reply.header('connection', 'close')
    done()
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  app.get(
    '/v1/health',
    {
      schema: {
        summary: 'Liveness, the node address and how many channels it holds',
        response: { 200: named('Health', 'The node is up'), ...errorResponses },
      },
    },
    async () => ({
      status: closing ? 'closing' : 'ok',
      address: node.address,
      channels: node.metrics().channels,
    }),
  )

  app.get(
    '/v1/ready',
    {
      schema: {
        summary: 'Readiness: 200 when the MQTT broker and the chain answer, 503 naming what is down',
        response: {
          ...errorResponses,
          200: readySchema,
          503: {
            description: 'Not ready: `down` names the parts that are down (or the node is closing)',
            anyOf: [readySchema, { $ref: 'Error#' }, { $ref: 'Closing#' }],
          },
        },
      },
    },
    async (_request, reply) => {
      const ready = healthToReady(node.health(), closing)
      return reply.status(ready.ready ? 200 : 503).send(ready)
    },
  )

  app.get(
    '/v1/channels',
    {
      schema: {
        summary: 'Every channel this node holds',
        response: { 200: named('ChannelList', 'Every channel but cancelled opens'), ...errorResponses },
      },
    },
    async () => ({ channels: await node.list() }),
  )

  app.post<{ Body: Parameters<typeof wireToOpenRequest>[0] }>(
    '/v1/channels',
    {
      schema: {
        summary: 'Open a channel (both parties send the same request); deposits unless deposit is false',
        body: openRequestSchema,
        response: {
          201: named(
            'ChannelSummary',
            'The channel, opened (or the same request again: the channel as it is)',
          ),
          ...bodyErrors,
          409: error(
            'OPEN_CONFLICT: a channel with this counterparty and nonce is held with other terms (details)',
          ),
          504: error(
            'PEER_TIMEOUT: the counterparty did not sign the initial state, or did not deposit, in time; CHAIN_TIMEOUT: the chain endpoint did not answer in time',
          ),
        },
      },
    },
    async (request, reply) => {
      const open: OpenRequest = wireToOpenRequest(request.body)
      const apps = node.apps ?? BUILT_IN_REGISTRY
      if (apps.byName(open.app) === undefined)
        throw new ChanvmError(
          'INVALID_ARGUMENT',
          `open request: app must be one of ${apps.names.join(', ')}`,
          {
            details: ['argument: app'],
          },
        )
      return reply.status(201).send(await node.open(open))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/v1/channels/:id',
    {
      schema: {
        summary: 'One channel: phase, version, balances and the Adjudicator record',
        params: channelIdParamsSchema,
        response: { 200: named('ChannelSummary', 'The channel'), ...errorResponses, ...channelErrors },
      },
    },
    async (request) => node.show(request.params.id.toLowerCase() as Hex),
  )

  app.post<{ Params: { id: string } }>(
    '/v1/channels/:id/cancel',
    {
      schema: {
        summary: 'Cancel an open that never completed (no co-signed initial state, nothing deposited)',
        params: channelIdParamsSchema,
        response: {
          200: named('ChannelSummary', 'The channel, now cancelled'),
          ...bodyErrors,
          ...channelErrors,
          409: error('NOT_CANCELLABLE: the open completed, or wei is deposited for the channel'),
        },
      },
    },
    async (request) => node.cancelOpen(request.params.id.toLowerCase() as Hex),
  )

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/v1/channels/:id/actions',
    {
      schema: {
        summary: 'Take an app action: runs the step, has the counterparty co-sign it',
        params: channelIdParamsSchema,
        body: appActionSchema,
        response: {
          200: named('UpdateResult', 'The action, co-signed'),
          ...bodyErrors,
          ...channelErrors,
          504: error(
            'The counterparty did not answer in time, or the chain endpoint did not (CHAIN_TIMEOUT)',
          ),
        },
      },
    },
    async (request, reply) => {
      const action = wireToAppAction(request.body)
      // An action that names its app is checked here against the app's ABI types, so a bad one
      // never reaches the node; one that does not is checked by the node against the channel's app.
      if (typeof action.app === 'string') {
        const apps = node.apps ?? BUILT_IN_REGISTRY
        const module = apps.byName(action.app)
        if (module === undefined)
          throw new ChanvmError('INVALID_ARGUMENT', `app must be one of ${apps.names.join(', ')}`, {
            details: ['argument: app'],
          })
        const { app: _app, type, action: name, args, ...fields } = action
        module.checkAction(String(name ?? type), args ?? fields)
      }
      const result = await node.act(request.params.id.toLowerCase() as Hex, action)
      // The co-signed answer, the hot one, by the serializer compiled from its schema.
      if (result.ok) return reply.header('content-type', JSON_TYPE).send(updateResultJson(result))
      const { status, message } = refusedAction(result)
      const code = result.reason.toUpperCase().replaceAll('-', '_')
      return reply.status(status).send({ error: { code, message, details: result } })
    },
  )

  app.get<{ Params: { id: string } }>(
    '/v1/channels/:id/dispute',
    {
      schema: {
        summary: 'The dispute plan: our state, the one held on chain, the next step, its gas and the payouts',
        params: channelIdParamsSchema,
        response: { 200: named('DisputePlan', 'The plan'), ...errorResponses, ...channelErrors },
      },
    },
    async (request) => node.disputePlan(request.params.id.toLowerCase() as Hex),
  )

  app.post<{ Params: { id: string }; Body: { force?: boolean } | undefined }>(
    '/v1/channels/:id/dispute',
    {
      schema: {
        summary: "Take the plan's next step on chain (409 when it is not worth its gas, unless force)",
        params: channelIdParamsSchema,
        body: disputeBodySchema,
        response: {
          200: named('DisputePlan', 'The plan after the step'),
          ...bodyErrors,
          ...channelErrors,
          409: error('The step is not worth its gas (NOT_WORTH_IT), or the channel refuses it'),
        },
      },
      // An empty body means no options.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {}
      },
    },
    async (request) => {
      const force = request.body?.force
      return node.disputeStep(request.params.id.toLowerCase() as Hex, force === undefined ? {} : { force })
    },
  )

  registerEventStreamRoute(app, node, {
    maxStreams: options.maxEventStreams ?? 32,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
  })

  serveDashboard(app, { tokenRequired: token !== undefined })
  registerDashboardRoutes(app, node)

  const registry = createMetricsRegistry(
    () => node.metrics(),
    () => node.health(),
  )
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        response: {
          200: {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  )

  const server: ApiServer = Object.assign(app, { start: () => app.listen({ host, port }) })
  return server
}
