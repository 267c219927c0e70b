import type { Address } from 'viem'
import { ChanvmError } from '../errors.ts'
import type { PeerMessage, PeerTransport } from './types.ts'

/** Connects in-process transports to each other. */
export type MemoryHub = {
  /** A transport for `self` on this hub. */
  connect(self: Address): PeerTransport
  /** Drops every message to `to` while the predicate returns true (fault injection for tests). */
  setFilter(filter: ((to: Address, message: PeerMessage) => boolean) | undefined): void
}

/**
 * An in-process peer transport hub. Messages are delivered asynchronously (next macrotask) as a
 * deep copy through JSON, as a network would.
 *
 * @example
 * ```ts
 * const hub = createMemoryHub()
 * const alice = hub.connect(aliceAddress), bob = hub.connect(bobAddress)
 * ```
 */
export function createMemoryHub(): MemoryHub {
  // Every connection of an address gets its messages, as every subscriber of a topic would.
  const connections = new Map<string, Set<Set<(m: PeerMessage) => void>>>()
  let drop: ((to: Address, message: PeerMessage) => boolean) | undefined
  return {
    setFilter(filter) {
      drop = filter
    },
    connect(self) {
      const key = self.toLowerCase()
      let closed = false
      const mine = new Set<(m: PeerMessage) => void>()
      let conns = connections.get(key)
      if (conns === undefined) connections.set(key, (conns = new Set()))
      conns.add(mine)
      return {
        self,
        async send(to, message) {
          if (closed) throw new ChanvmError('TRANSPORT_CLOSED', 'memory transport is closed', { channelId: message.channelId })
          if (drop?.(to, message) === true) return
          const text = JSON.stringify(message)
          setImmediate(() => {
            for (const conn of connections.get(to.toLowerCase()) ?? []) for (const h of conn) h(JSON.parse(text) as PeerMessage)
          })
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
