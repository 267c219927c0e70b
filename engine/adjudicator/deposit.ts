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
  /**
   * When given, the deposit goes in only while what was deposited for `participant` is exactly
   * this (`Adjudicator.depositExpecting`; it reverts with `DepositChanged` otherwise), so a deposit
   * sent again (a retried transaction, a second process) cannot add its amount twice. Pass the
   * amount read with `getDeposit` before deciding to deposit.
   */
  expectedDeposited?: bigint
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
 * (`Adjudicator.deposit`, or `depositExpecting` with `expectedDeposited`). At conclusion the
 * participants are paid from their own deposits: the balances of the final state when those
 * deposits cover them, each address's excess back to it, and refunds when they do not
 * (docs/adjudicator.md, "Funding").
 *
 * @example
 * ```ts
 * const have = await getDeposit(client, channelId, alice)
 * const r = await deposit(client, { channelId, participant: alice, amount: want - have, expectedDeposited: have })
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
      const call = { address: client.address, abi: Adjudicator.abi, value: args.amount, account } as const
      if (args.expectedDeposited !== undefined) {
        const { request } = await client.publicClient.simulateContract({
          ...call,
          functionName: 'depositExpecting',
          args: [args.channelId, args.participant, args.expectedDeposited],
        })
        return wallet.writeContract(request)
      }
      const { request } = await client.publicClient.simulateContract({
        ...call,
        functionName: 'deposit',
        args: [args.channelId, args.participant],
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
