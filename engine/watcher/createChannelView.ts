import { zeroHash } from 'viem'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams } from '../channel/types.ts'
import type { ChannelView } from './types.ts'

/**
 * The view of a channel nothing is known of yet: open, no state held, no chain.
 *
 * @example
 * ```ts
 * let view = createChannelView(params)
 * ```
 */
export function createChannelView(params: ChannelParams): ChannelView {
  return {
    params,
    channelId: getChannelId(params),
    status: 'open',
    version: 0n,
    baseVersion: 0n,
    forced: false,
    finalizesAt: 0n,
    movesUntil: 0n,
    holdings: 0n,
    stateHash: zeroHash,
    held: undefined,
    chain: undefined,
    overwriteReported: undefined,
    missedReported: undefined,
  }
}
