import type { Address } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type WithdrawArgs = {
  /** Where the ETH goes. Default: the client's own account. */
  to?: Address
}

/**
 * Sends all of the client account's credit in the Adjudicator to `to` (`Adjudicator.withdraw`,
 * pull payment). Reverts with `NothingToWithdraw` when there is no credit.
 *
 * @example
 * ```ts
 * const { amount } = await withdraw(aliceClient)
 * ```
 */
export async function withdraw(
  client: AdjudicatorClient,
  args: WithdrawArgs = {},
): Promise<TxResult & { amount: bigint }> {
  const r = await submitAdjudicatorTx(client, { action: 'withdraw' }, async (wallet, account) => {
    const { request } = await client.publicClient.simulateContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'withdraw',
      args: [args.to ?? account.address],
      account,
    })
    return wallet.writeContract(request)
  })
  const ev = r.events.find((e) => e.eventName === 'Withdrawn')
  return { ...r, amount: ev?.eventName === 'Withdrawn' ? ev.args.amount : 0n }
}
