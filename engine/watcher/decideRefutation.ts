import type { SignedState } from '../channel/types.ts'
import { outranksHeld } from '../adjudicator/outranksHeld.ts'
import { isCoSigned } from './isCoSigned.ts'
import type { ChannelView, WatcherDecision } from './types.ts'

/**
 * The refutation rule: during a dispute, a co-signed state that outranks the state held (its
 * version is above the record's base version, {@link outranksHeld}) is registered while the
 * challenge period runs (`now < finalizesAt`), and reported as `missed` once it is over. A chain
 * forced over an older base is thus replaced whole, however far its version grew.
 *
 * @example
 * ```ts
 * const d = decideRefutation(view, await store.getLatestSignedState(id), head.timestamp)
 * if (d?.type === 'refute') await register(client, { params, signed: d.signed })
 * ```
 */
export function decideRefutation(
  view: ChannelView,
  latest: SignedState | undefined,
  now: bigint,
): Extract<WatcherDecision, { type: 'refute' | 'missed' }> | undefined {
  if (view.status !== 'disputed' || !isCoSigned(view.params, latest)) return undefined
  if (latest.state.channelId.toLowerCase() !== view.channelId.toLowerCase()) return undefined
  if (!outranksHeld(view, latest.state.version)) return undefined
  if (now >= view.finalizesAt) {
    return {
      type: 'missed',
      channelId: view.channelId,
      heldVersion: view.version,
      latestVersion: latest.state.version,
    }
  }
  return { type: 'refute', channelId: view.channelId, signed: latest, staleVersion: view.version }
}
