import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { hashState } from '../../engine/channel/hashState.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { wireToState } from '../../engine/channel/wire.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { hashReject } from '../../engine/protocol/messageDigests.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'

/** A proposal as the refusal policy sees it. */
export type ProposalView = { mover: number; action: Hex; state: State }

/**
 * Wraps a party's transport with a refusal policy: a proposal the policy names a reason for is not
 * handed to the party (so it never signs it); the wrapper answers the mover with a signed `reject`
 * instead, reason `refused`. This is how the demo plays the party that loses at the decisive step
 * and will not sign: from the outside it is an ordinary, signed refusal.
 *
 * Adapter: the engine's party has no signing policy hook; this adds one at the transport port.
 *
 * @example
 * ```ts
 * const transport = createRefusingTransport(inner, { privateKey, params, refuse: (p) => (isPayout(p) ? 'will not pay' : undefined) })
 * ```
 */
export function createRefusingTransport(
  inner: PeerTransport,
  opts: { privateKey: Hex; params: ChannelParams; refuse: (proposal: ProposalView) => string | undefined; onRefuse?: (proposal: ProposalView, message: string) => void },
): PeerTransport {
  const self = privateKeyToAddress(opts.privateKey)
  return {
    self: inner.self,
    send: (to, message) => inner.send(to, message),
    close: () => inner.close(),
    onMessage(handler) {
      return inner.onMessage((m: PeerMessage) => {
        if (m.type === 'propose') {
          let view: ProposalView | undefined
          try {
            view = { mover: m.mover, action: m.action, state: wireToState(m.state) }
          } catch {
            view = undefined // malformed: let the party drop it with its reason
          }
          const message = view === undefined ? undefined : opts.refuse(view)
          if (view !== undefined && message !== undefined) {
            const stateHash = hashState(opts.params.chainId, opts.params.adjudicator, view.state)
            const reason = 'refused'
            const sig = signDigest(hashReject(opts.params, { channelId: m.channelId, version: view.state.version, stateHash, reason, message }), opts.privateKey)
            opts.onRefuse?.(view, message)
            void inner.send(m.from, { type: 'reject', channelId: m.channelId, from: self, version: view.state.version.toString(), digest: stateHash, reason, message, sig }).catch(() => undefined)
            return
          }
        }
        handler(m)
      })
    },
  }
}
