import type { Address } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

/**
 * Wei `account` may withdraw from the Adjudicator (credited when channels conclude).
 *
 * @example
 * ```ts
 * const credit = await getWithdrawable(client, alice)
 * ```
 */
export async function getWithdrawable(client: AdjudicatorClient, account: Address): Promise<bigint> {
  try {
    return await client.publicClient.readContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'withdrawable',
      args: [account],
    })
  } catch (e) {
    throw toAdjudicatorError(e, { action: 'getWithdrawable' })
  }
}
