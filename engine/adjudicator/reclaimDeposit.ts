import type { Address } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams } from '../channel/types.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type ReclaimDepositArgs = {
  params: ChannelParams
  /** An address that is not a participant of the channel, for which something was deposited. */
  account: Address
}

/**
 * Credits back to `account` what was deposited for it in a concluded channel it is not a
 * participant of (`Adjudicator.reclaimDeposit`): a conclusion pays the participants from their
 * own deposits only. Anyone may send it; the credit is `account`'s, taken with `withdraw`. Reverts
 * with `NotConcluded`, `IsParticipant` or `NothingToReclaim`.
 *
 * @example
 * ```ts
 * const { amount } = await reclaimDeposit(client, { params, account: mistyped })
 * ```
 */
export async function reclaimDeposit(
  client: AdjudicatorClient,
  args: ReclaimDepositArgs,
): Promise<TxResult & { amount: bigint }> {
  const channelId = getChannelId(args.params)
  const r = await submitAdjudicatorTx(
    client,
    { action: 'reclaimDeposit', channelId },
    async (wallet, account) => {
      const { request } = await client.publicClient.simulateContract({
        address: client.address,
        abi: Adjudicator.abi,
        functionName: 'reclaimDeposit',
        args: [args.params, args.account],
        account,
      })
      // Estimated against the pending block, mined in the block it lands in, whose timestamp may
      // take another path (a dispute's deadlines): an exact estimate can fall a few gas short.
      // Unused gas is not charged.
      const gas = await client.publicClient.estimateContractGas(request)
      return wallet.writeContract({ ...request, gas: gas + gas / 5n + 10_000n })
    },
  )
  const ev = r.events.find((e) => e.eventName === 'DepositReclaimed')
  return { ...r, amount: ev?.eventName === 'DepositReclaimed' ? ev.args.amount : 0n }
}
