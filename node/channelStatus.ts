import type { ChannelPhase } from '../engine/protocol/channelPhase.ts'
import type { ChannelStatus } from './types.ts'

/**
 * A channel's one status (see {@link ChannelStatus}) from the off-chain phase, the Adjudicator's
 * record and this node's credit there. Pure: `list` and `show` both call it on the same reads, so
 * they never disagree. The chain outranks the off-chain phase: a concluded channel is `concluded`
 * (or `closed` once this node has nothing left to withdraw) whatever the party last signed, and a
 * running dispute is `disputed`. `cancelled` holds only while version 0 is still not co-signed: a
 * cancelled open that the counterparty completed after all shows what it became.
 *
 * @example
 * ```ts
 * channelStatus({ phase: 'open', onChain: 'concluded', withdrawable: 0n, cancelled: false }) // 'closed'
 * channelStatus({ phase: 'final', onChain: 'open', cancelled: false }) // 'final'
 * ```
 */
export function channelStatus(f: {
  phase: ChannelPhase
  /** The Adjudicator's status, when it was read. */
  onChain?: 'open' | 'dispute' | 'concluded'
  /** This node's credit in the Adjudicator, when it was read. */
  withdrawable?: bigint
  /** The open was cancelled (`cancelOpen`). */
  cancelled: boolean
}): ChannelStatus {
  if (f.onChain === 'concluded') return f.withdrawable === 0n ? 'closed' : 'concluded'
  if (f.onChain === 'dispute') return 'disputed'
  if (f.cancelled && f.phase === 'opening') return 'cancelled'
  return f.phase
}
