// The read-only routes the dashboard reads besides the channel routes: a channel's timeline, the
// recent inputs, and the node's status (its links to chain and broker, and its counters).
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Hex } from 'viem'
import type { ChanvmNode } from '../types.ts'
import { channelIdParamsSchema, errorResponse, errorResponses } from './schemas.ts'

const errors = {
  ...errorResponses,
  404: errorResponse('Unknown channel, or a node that keeps no journal'),
}
const described = (description: string) => ({ description, type: 'object', additionalProperties: true })

/**
 * Registers `GET /v1/status`, `GET /v1/inputs` and `GET /v1/channels/:id/timeline` on `app`.
 * A node without a journal answers them 404 `NO_JOURNAL`.
 *
 * @example
 * ```ts
 * registerDashboardRoutes(app, node) // GET /v1/channels/0x…/timeline
 * ```
 */
export function registerDashboardRoutes(app: FastifyInstance, node: ChanvmNode): void {
  const noJournal = (reply: FastifyReply) =>
    reply.status(404).send({ error: { code: 'NO_JOURNAL', message: 'this node keeps no journal' } })
  const journal = node.journal

  app.get(
    '/v1/status',
    {
      schema: {
        summary: "The node's address, its links to the chain (head block) and the broker, its counters",
        response: { 200: described('address, health { chain, broker, startedAt }, metrics'), ...errors },
      },
    },
    async (_request, reply) =>
      journal === undefined
        ? noJournal(reply)
        : { address: node.address, health: await journal.health(), metrics: node.metrics() },
  )

  app.get(
    '/v1/inputs',
    {
      schema: {
        summary:
          'The readings and answers the node took in or refused lately (with the reason), oldest first',
        response: { 200: described('inputs: InputEntry[]'), ...errors },
      },
    },
    async (_request, reply) => (journal === undefined ? noJournal(reply) : { inputs: journal.inputs() }),
  )

  app.get<{ Params: { id: string } }>(
    '/v1/channels/:id/timeline',
    {
      schema: {
        summary:
          "Every co-signed version (mover, action, sandbox gas, signatures), the app's view of its state, the dispute steps sent",
        params: channelIdParamsSchema,
        response: { 200: described('ChannelTimeline'), ...errors },
      },
    },
    async (request, reply) =>
      journal === undefined ? noJournal(reply) : journal.timeline(request.params.id.toLowerCase() as Hex),
  )
}
