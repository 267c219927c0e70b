import type { Address } from 'viem'
import type { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'

/**
 * Puts `around` between `hub` and every message that reaches `address`: it gets the message and
 * `handle` (the party's handler for it), and returns what the transport sees as the handling,
 * whose resolution is the acknowledgement. The other addresses' transports stay as they are.
 *
 * @example
 * ```ts
 * interceptArrivals(hub, payee, (m, handle) => {
 *   if (m.type === 'commit') syncs.hold()
 *   return handle()
 * })
 * ```
 */
export function interceptArrivals(
  hub: ReturnType<typeof createMemoryHub>,
  address: Address,
  around: (m: PeerMessage, handle: () => Promise<void>) => Promise<void>,
): void {
  const connect = hub.connect.bind(hub)
  hub.connect = (self) => {
    const t = connect(self)
    if (self.toLowerCase() !== address.toLowerCase()) return t
    return {
      ...t,
      send: t.send.bind(t),
      close: t.close.bind(t),
      onMessage: (h) => t.onMessage((m) => around(m, async () => h(m))),
    }
  }
}
