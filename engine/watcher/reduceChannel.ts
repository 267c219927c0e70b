import type { SignedState } from '../channel/types.ts'
import { applyChainLog } from './applyChainLog.ts'
import { applyChannelRecord } from './applyChannelRecord.ts'
import { decideAdoption } from './decideAdoption.ts'
import { decideRefutation } from './decideRefutation.ts'
import { isCoSigned } from './isCoSigned.ts'
import type { ChannelView, WatcherDecision, WatcherFact } from './types.ts'

/**
 * The watcher's rules as one pure step: a channel's view, one fact from the chain and the party's
 * latest co-signed state in, the next view and what to do out. No I/O; the driver
 * (`createWatcher`) reads the facts and carries out the decisions.
 *
 * - A `Progressed` log whose chain is known: `adopt` the whole chain when its base is at or above
 *   the latest co-signed state ({@link decideAdoption}), else `report-overwrite` (once per chain).
 * - A record: reconcile (`rebuild` when the logs had told another story), then `refute` or
 *   `missed` ({@link decideRefutation}).
 *
 * @example
 * ```ts
 * const { view: next, decisions } = reduceChannel(view, { type: 'log', log }, await store.getLatestSignedState(id))
 * ```
 */
export function reduceChannel(
  view: ChannelView,
  fact: WatcherFact,
  latest: SignedState | undefined,
): { view: ChannelView; decisions: WatcherDecision[] } {
  const coSigned = isCoSigned(view.params, latest) ? latest : undefined
  if (fact.type === 'log') {
    const next = applyChainLog(view, fact.log)
    if (fact.log.type !== 'Progressed' || next.chain === undefined) return { view: next, decisions: [] }
    return decideAdoption(next, coSigned)
  }
  const { view: next, consistent } = applyChannelRecord(view, fact.record)
  const decisions: WatcherDecision[] = consistent ? [] : [{ type: 'rebuild', channelId: view.channelId }]
  const refutation = decideRefutation(next, coSigned, fact.now)
  if (refutation?.type === 'refute') return { view: next, decisions: [...decisions, refutation] }
  if (refutation?.type === 'missed' && next.missedReported !== refutation.latestVersion) {
    return {
      view: { ...next, missedReported: refutation.latestVersion },
      decisions: [...decisions, refutation],
    }
  }
  return { view: next, decisions }
}
