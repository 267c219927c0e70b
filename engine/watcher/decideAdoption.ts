import { bytesToHex } from 'viem'
import { hashStateStruct } from '../channel/hashState.ts'
import type { SignedState } from '../channel/types.ts'
import { judgeForcedChain } from '../protocol/judgeForcedChain.ts'
import type { ChannelView, WatcherDecision } from './types.ts'

/**
 * The adoption rule over a view's forced chain (when it is known and has a move): `adopt` the
 * whole chain when {@link judgeForcedChain} allows it, else `report-overwrite`, once per chain
 * (the view remembers the base it reported). The refutation of such a chain is decided apart,
 * from the record.
 *
 * @example
 * ```ts
 * const { view: next, decisions } = decideAdoption(view, await store.getLatestSignedState(id))
 * ```
 */
export function decideAdoption(
  view: ChannelView,
  latestCoSigned: SignedState | undefined,
): { view: ChannelView; decisions: WatcherDecision[] } {
  const chain = view.chain
  if (chain === undefined || chain.moves.length === 0) return { view, decisions: [] }
  const verdict = judgeForcedChain(chain, latestCoSigned?.state)
  if (verdict === 'adopt') return { view, decisions: [{ type: 'adopt', chain }] }
  const baseHash = bytesToHex(hashStateStruct(chain.base))
  if (view.overwriteReported === baseHash) return { view, decisions: [] }
  return {
    view: { ...view, overwriteReported: baseHash },
    decisions: [
      {
        type: 'report-overwrite',
        chain,
        latestVersion: latestCoSigned?.state.version ?? 0n,
        reason: verdict,
      },
    ],
  }
}
