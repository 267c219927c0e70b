import type { Address, Hex } from 'viem'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { getDeposit } from './getDeposit.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

/**
 * Reads what each of `participants` deposited into a channel, in their order, all at the same
 * block (the head when `blockNumber` is omitted). The funding check of the protocol: participant i
 * has funded the channel once its deposit is at least its initial balance.
 *
 * @example
 * ```ts
 * const deposits = await getDeposits(client, channelId, params.participants)
 * const funded = initial.balances.every((b, i) => (deposits[i] ?? 0n) >= b)
 * ```
 */
export async function getDeposits(
  client: AdjudicatorClient,
  channelId: Hex,
  participants: readonly Address[],
  opts: { blockNumber?: bigint } = {},
): Promise<bigint[]> {
  let blockNumber = opts.blockNumber
  if (blockNumber === undefined) {
    try {
      blockNumber = await client.publicClient.getBlockNumber({ cacheTime: 0 })
    } catch (e) {
      throw toAdjudicatorError(e, { action: 'getDeposits', channelId })
    }
  }
  return Promise.all(participants.map((p) => getDeposit(client, channelId, p, { blockNumber })))
}
