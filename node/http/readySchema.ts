// The readiness answer of `GET /v1/ready`: whether the node can work now, and which part is down.
import type { ComponentHealth, NodeHealth } from '../types.ts'

const component = {
  type: 'object',
  required: ['up', 'url', 'since'],
  properties: {
    up: { type: 'boolean' },
    url: { type: 'string', description: 'The endpoint, without credentials' },
    since: { type: 'string', format: 'date-time', description: 'When it last went up or down' },
    error: { type: 'string', description: 'Why it is down' },
  },
} as const

/** The JSON Schema of the readiness answer (200 when ready, 503 otherwise). */
export const readySchema = {
  type: 'object',
  required: ['ready', 'down', 'broker', 'chain'],
  properties: {
    ready: { type: 'boolean' },
    down: { type: 'array', items: { type: 'string', enum: ['broker', 'chain', 'node'] } },
    broker: component,
    chain: {
      ...component,
      properties: {
        ...component.properties,
        head: {
          type: 'object',
          required: ['blockNumber', 'ageMs'],
          properties: {
            blockNumber: { type: 'string', description: 'The newest block the node has seen' },
            ageMs: { type: 'integer', description: 'How long ago the node saw it' },
          },
        },
      },
    },
  },
} as const

/** What `GET /v1/ready` answers for a node's health; `closing` makes it not ready. */
export function healthToReady(health: NodeHealth, closing: boolean, now = Date.now()) {
  const part = (c: ComponentHealth) => ({
    up: c.up,
    url: c.url,
    since: new Date(c.since).toISOString(),
    ...(c.error === undefined ? {} : { error: c.error }),
  })
  const down = [
    ...(health.broker.up ? [] : ['broker']),
    ...(health.chain.up ? [] : ['chain']),
    ...(closing || (health.broker.up && health.chain.up && !health.ready) ? ['node'] : []),
  ]
  const head = health.chain.head
  return {
    ready: health.ready && !closing,
    down,
    broker: part(health.broker),
    chain: {
      ...part(health.chain),
      ...(head === undefined
        ? {}
        : { head: { blockNumber: head.blockNumber, ageMs: Math.max(0, now - head.seenAt) } }),
    },
  }
}
