import type { Address, Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { ChanvmError } from '../errors.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type DepositArgs = {
  channelId: Hex
  /** On whose behalf the funds go in (recorded in the `Deposited` event). */
  participant: Address
  /** Wei, more than zero. */
  amount: bigint
}

/**
 * Adds `amount` wei to a channel's holdings (`Adjudicator.deposit`). All holdings of a channel are
 * one pot; the payout follows the state that concludes it (docs/adjudicator.md, "Funding").
 *
 * @example
 * ```ts
 * const r = await deposit(client, { channelId, participant: alice, amount: parseEther('1') })
 * console.log(r.gasUsed)
 * ```
 */
export async function deposit(client: AdjudicatorClient, args: DepositArgs): Promise<TxResult> {
  if (args.amount <= 0n) throw new ChanvmError('INVALID_ARGUMENT', 'deposit amount must be positive', { channelId: args.channelId })
  return submitAdjudicatorTx(client, { action: 'deposit', channelId: args.channelId }, async (wallet, account) => {
    const { request } = await client.publicClient.simulateContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'deposit',
      args: [args.channelId, args.participant],
      value: args.amount,
      account,
    })
    return wallet.writeContract(request)
  })
}
