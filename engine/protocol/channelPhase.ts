/** Where a channel stands for this party (docs/protocol.md, "The state machine of one channel"). */
export type ChannelPhase =
  /** Version 0 is not co-signed yet. */
  | 'opening'
  /** Co-signed at version 0; not every participant's deposit is confirmed (`confirmFunding`). */
  | 'funding'
  /** Steps may be proposed and signed. */
  | 'open'
  /** This party's own proposal is in flight. */
  | 'proposing'
  /** The latest co-signed (or adopted forced) state is final: nothing is signed on top of it. */
  | 'final'
  /** A dispute is registered on chain: no new step is proposed or signed; the chain settles it. */
  | 'disputed'

/**
 * The phase of a channel from what a party holds. Pure: the party's `phase()` and its rules agree
 * on it (a proposal is refused `unfunded` in `funding`, `final` in `final` and `disputed` in
 * `disputed`).
 *
 * @example
 * ```ts
 * channelPhase({ baseVersion: 0n, baseIsFinal: false, funded: false, proposing: false }) // 'funding'
 * ```
 */
export function channelPhase(f: {
  /** Version and finality of the state the next step builds on; undefined before version 0 is co-signed. */
  baseVersion: bigint | undefined
  baseIsFinal: boolean
  funded: boolean
  proposing: boolean
  /** A dispute is registered on chain for the channel. Default false. */
  disputed?: boolean
}): ChannelPhase {
  if (f.baseVersion === undefined) return 'opening'
  if (f.disputed === true) return 'disputed'
  if (f.baseIsFinal) return 'final'
  if (!f.funded) return 'funding'
  return f.proposing ? 'proposing' : 'open'
}
