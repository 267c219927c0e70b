import type { ChannelView, WatcherRecord } from './types.ts'

/**
 * Reconciles a channel's view with its on-chain record read at the block the logs were read to.
 * The record wins: the returned view carries its fields. `consistent` says whether the logs had
 * told the same story, down to the dispute's whole chain; when they had not (a log was missed or
 * reorganised away, or the dispute began before the logs read), the chain and the state held are
 * dropped unless the state held is still the record's.
 *
 * @example
 * ```ts
 * const { view: next, consistent } = applyChannelRecord(view, await chain.record(id, block))
 * ```
 */
export function applyChannelRecord(
  view: ChannelView,
  record: WatcherRecord,
): { view: ChannelView; consistent: boolean } {
  const consistent =
    record.status === view.status &&
    (record.status !== 'disputed' ||
      (record.version === view.version &&
        record.baseVersion === view.baseVersion &&
        record.stateHash.toLowerCase() === view.stateHash.toLowerCase() &&
        record.finalizesAt === view.finalizesAt &&
        (view.movesUntil === 0n || record.movesUntil === view.movesUntil) &&
        view.chain !== undefined)) &&
    (record.status === 'concluded' || record.holdings === view.holdings)
  const sameHeld = record.stateHash.toLowerCase() === view.stateHash.toLowerCase()
  const next: ChannelView = {
    ...view,
    status: record.status,
    holdings: record.holdings,
    ...(record.status === 'concluded'
      ? {}
      : {
          version: record.version,
          baseVersion: record.baseVersion,
          forced: record.version > record.baseVersion,
          finalizesAt: record.finalizesAt,
          movesUntil: record.movesUntil,
          stateHash: record.stateHash,
        }),
    ...(consistent || sameHeld ? {} : { held: undefined }),
    ...(consistent ? {} : { chain: undefined }),
  }
  return { view: next, consistent }
}
