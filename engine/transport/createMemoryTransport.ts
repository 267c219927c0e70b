import type { Address } from 'viem'
import { ChanvmError } from '../errors.ts'
import type { PeerMessage, PeerTransport } from './types.ts'

/** A message the hub delivered without an acknowledgement: no handler took it, or its handler rejected. */
export type UnacknowledgedDelivery = { to: Address; message: PeerMessage; error: string }

/** Connects in-process transports to each other. */
export type MemoryHub = {
  /** A transport for `self` on this hub. */
  connect(self: Address): PeerTransport
  /** Drops every message to `to` while the predicate returns true (fault injection for tests). */
  setFilter(filter: ((to: Address, message: PeerMessage) => boolean) | undefined): void
  /** Resolves once every delivery so far has been handled (every handler's promise settled). */
  settled(): Promise<void>
  /**
   * Deliveries a broker with acknowledgements would redeliver: no handler was registered for the
   * address, or a handler's promise rejected. Oldest first.
   */
  unacknowledged(): readonly UnacknowledgedDelivery[]
}

/**
 * An in-process peer transport hub. Messages are delivered asynchronously (next macrotask) as a
 * deep copy through JSON, as a network would. Like a transport with acknowledgements, it awaits
 * each handler's promise: a delivery counts as acknowledged only when every handler resolved, and
 * the others are listed by `unacknowledged()` (the hub does not redeliver them).
 *
 * @example
 * ```ts
 * const hub = createMemoryHub()
 * const alice = hub.connect(aliceAddress), bob = hub.connect(bobAddress)
 * await hub.settled()
 * ```
 */
export function createMemoryHub(): MemoryHub {
  type Handler = (m: PeerMessage) => void | Promise<void>
  // Every connection of an address gets its messages, as every subscriber of a topic would.
  const connections = new Map<string, Set<Set<Handler>>>()
  const inFlight = new Set<Promise<void>>()
  const unacked: UnacknowledgedDelivery[] = []
  let drop: ((to: Address, message: PeerMessage) => boolean) | undefined

  const deliver = async (to: Address, text: string): Promise<void> => {
    const handlers = [...(connections.get(to.toLowerCase()) ?? [])].flatMap((conn) => [...conn])
    if (handlers.length === 0) {
      unacked.push({ to, message: JSON.parse(text) as PeerMessage, error: 'no handler registered' })
      return
    }
    const results = await Promise.allSettled(handlers.map(async (h) => h(JSON.parse(text) as PeerMessage)))
    for (const r of results) {
      if (r.status === 'rejected') {
        unacked.push({
          to,
          message: JSON.parse(text) as PeerMessage,
          error: (r.reason as Error)?.message ?? String(r.reason),
        })
      }
    }
  }

  return {
    setFilter(filter) {
      drop = filter
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    },
    unacknowledged: () => [...unacked],
    connect(self) {
      const key = self.toLowerCase()
      let closed = false
      const mine = new Set<Handler>()
      let conns = connections.get(key)
      if (conns === undefined) connections.set(key, (conns = new Set()))
      conns.add(mine)
      return {
        self,
        async send(to, message) {
          if (closed)
            throw new ChanvmError('TRANSPORT_CLOSED', 'memory transport is closed', {
              channelId: message.channelId,
            })
          if (drop?.(to, message) === true) return
          const text = JSON.stringify(message)
          const p = new Promise<void>((resolve) =>
            setImmediate(() => void deliver(to, text).finally(resolve)),
          )
          inFlight.add(p)
          void p.finally(() => inFlight.delete(p))
        },
        onMessage(handler) {
          mine.add(handler)
          return () => mine.delete(handler)
        },
        async close() {
          closed = true
          mine.clear()
          conns.delete(mine)
        },
      }
    },
  }
}
