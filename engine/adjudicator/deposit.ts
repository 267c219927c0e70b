import type { Address, Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { ChanvmError } from '../errors.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type DepositArgs = {
  channelId: Hex
  /** On whose behalf the funds go in: added to `deposits(channelId, participant)` on chain. */
  participant: Address
  /** Wei, more than zero. */
  amount: bigint
}

/** What a deposit left on chain, from its `Deposited` event. */
export type DepositResult = TxResult & {
  /** The participant's total deposit into the channel, this one included. */
  deposited: bigint
  /** The channel's holdings after the deposit. */
  holdings: bigint
}

/**
 * Adds `amount` wei to a channel's holdings and to what `participant` deposited into it
 * (`Adjudicator.deposit`). The payout follows the state that concludes the channel when the
 * holdings cover its balances; otherwise each participant gets back what it deposited
 * (docs/adjudicator.md, "Funding").
 *
 * @example
 * ```ts
 * const r = await deposit(client, { channelId, participant: alice, amount: parseEther('1') })
 * console.log(r.deposited, r.holdings, r.gasUsed)
 * ```
 */
export async function deposit(client: AdjudicatorClient, args: DepositArgs): Promise<DepositResult> {
  if (args.amount <= 0n)
    throw new ChanvmError('INVALID_ARGUMENT', 'deposit amount must be positive', {
      channelId: args.channelId,
    })
  const r = await submitAdjudicatorTx(
    client,
    { action: 'deposit', channelId: args.channelId },
    async (wallet, account) => {
      const { request } = await client.publicClient.simulateContract({
        address: client.address,
        abi: Adjudicator.abi,
        functionName: 'deposit',
        args: [args.channelId, args.participant],
        value: args.amount,
        account,
      })
      return wallet.writeContract(request)
    },
  )
  const ev = r.events.find((e) => e.eventName === 'Deposited')
  if (ev?.eventName !== 'Deposited')
    throw new ChanvmError('CHAIN_ERROR', 'deposit was mined without a Deposited event', {
      channelId: args.channelId,
    })
  return { ...r, deposited: ev.args.deposited, holdings: ev.args.holdings }
}
