import type { Address, Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

/**
 * Reads the wei deposited into a channel on behalf of one participant (`Adjudicator.deposits`),
 * at the head or at `blockNumber`. It stays readable after the channel concluded.
 *
 * @example
 * ```ts
 * const bobIn = await getDeposit(client, channelId, bob)
 * ```
 */
export async function getDeposit(
  client: AdjudicatorClient,
  channelId: Hex,
  participant: Address,
  opts: { blockNumber?: bigint } = {},
): Promise<bigint> {
  try {
    return await client.publicClient.readContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'deposits',
      args: [channelId, participant],
      ...(opts.blockNumber === undefined ? {} : { blockNumber: opts.blockNumber }),
    })
  } catch (e) {
    throw toAdjudicatorError(e, { action: 'getDeposit', channelId })
  }
}
