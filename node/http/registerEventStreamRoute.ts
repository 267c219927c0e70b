import type { FastifyInstance } from 'fastify'
import type { Hex } from 'viem'
import type { ChanvmNode } from '../types.ts'
import { openEventStream } from './openEventStream.ts'
import { errorResponses, eventsQuerySchema } from './schemas.ts'

/**
 * `GET /v1/events`: server-sent events of the node's events ({@link openEventStream}), at most
 * `maxStreams` open at once (503 `TOO_MANY_STREAMS` past that); every stream ends when the server
 * closes.
 *
 * @example
 * ```ts
 * registerEventStreamRoute(app, node, { maxStreams: 32 })
 * ```
 */
export function registerEventStreamRoute(
  app: FastifyInstance,
  node: ChanvmNode,
  options: { maxStreams: number; heartbeatMs?: number },
): void {
  const streams = new Set<() => void>()
  app.addHook('preClose', async () => {
    for (const close of streams) close()
  })

  app.get<{ Querystring: { channelId?: string } }>(
    '/v1/events',
    {
      schema: {
        summary: 'Server-sent events: every NodeEvent as JSON (bigints as strings), with heartbeats',
        querystring: eventsQuerySchema,
        response: {
          200: {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      if (streams.size >= options.maxStreams) {
        return reply
          .status(503)
          .send({ error: { code: 'TOO_MANY_STREAMS', message: 'too many event streams are open' } })
      }
      reply.hijack()
      const channelId = request.query.channelId as Hex | undefined
      const header = request.headers['last-event-id']
      const lastEventId =
        typeof header === 'string' && /^[0-9]{1,15}$/.test(header) ? Number(header) : undefined
      const close = openEventStream(reply.raw, node, {
        ...(channelId === undefined ? {} : { channelId }),
        ...(lastEventId === undefined ? {} : { lastEventId }),
        ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
      })
      streams.add(close)
      reply.raw.on('close', () => streams.delete(close))
    },
  )
}
