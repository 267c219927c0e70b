import type { MessagePort } from 'node:worker_threads'
import type { Worker } from 'node:worker_threads'
import type { Address } from 'viem'
import type { PeerMessage, PeerTransport } from '../engine/transport/types.ts'

/** What crosses a thread boundary for the peer: a message as JSON, as a network carries it. */
export type PortPeerFrame = { kind: 'peer'; text: string }

/**
 * The peer transport of a party whose one counterparty runs on another thread of this process,
 * at the other end of `port` (a `Worker`, or the worker's `parentPort`). A message crosses as
 * JSON text, so it is copied as the memory hub and a network copy it. Frames of other kinds on the
 * port are left to the port's other listeners. A handler that rejects is reported to `onError`
 * (a bench has no broker to redeliver to).
 */
export function createPortTransport(
  self: Address,
  port: MessagePort | Worker,
  onError: (e: unknown) => void,
): PeerTransport {
  const handlers = new Set<(m: PeerMessage) => void | Promise<void>>()
  let closed = false
  const listener = (frame: PortPeerFrame | { kind?: undefined }) => {
    if (frame.kind !== 'peer') return
    for (const h of handlers) {
      void (async () => h(JSON.parse(frame.text) as PeerMessage))().catch(onError)
    }
  }
  port.on('message', listener)
  return {
    self,
    async send(_to, message) {
      if (closed) throw new Error('port transport is closed')
      port.postMessage({ kind: 'peer', text: JSON.stringify(message) } satisfies PortPeerFrame)
    },
    onMessage(handler) {
      handlers.add(handler)
      return () => handlers.delete(handler)
    },
    async close() {
      closed = true
      handlers.clear()
      port.off('message', listener)
    },
  }
}
