import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'

/**
 * A peer transport that, while `holding()` is true, holds what its party sends for as long as one
 * of the party's handlers runs, as MQTT.js does after a reconnect: it re-sends its stored messages
 * one by one, each after the broker's PUBACK, and queues new publishes (their store callback
 * included) until then, while it reads that PUBACK only once the handler of the message in hand
 * has returned. A reconnect is what a rejected message triggers (`redeliverAfterMs`), so it follows
 * a store error. A party whose handler waits for its own send never returns from it.
 *
 * @example
 * ```ts
 * let replaying = false
 * const transport = holdingTransport(hub.connect(address), { holding: () => replaying })
 * ```
 */
export function holdingTransport(inner: PeerTransport, opts: { holding: () => boolean }): PeerTransport {
  let busy = 0
  const held: (() => void)[] = []
  return {
    self: inner.self,
    send(to, message) {
      if (!opts.holding() || busy === 0) return inner.send(to, message)
      return new Promise<void>((resolve, reject) => {
        held.push(() => void inner.send(to, message).then(resolve, reject))
      })
    },
    onMessage(handler) {
      return inner.onMessage(async (m: PeerMessage) => {
        busy++
        try {
          return await handler(m)
        } finally {
          busy--
          if (busy === 0) for (const go of held.splice(0)) go()
        }
      })
    },
    close: () => inner.close(),
  }
}
