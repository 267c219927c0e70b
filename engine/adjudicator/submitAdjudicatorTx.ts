import {
  parseEventLogs,
  type Abi,
  type Account,
  type Chain,
  type Hex,
  type ParseEventLogsReturnType,
  type Transport,
  type WalletClient,
} from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { ChanvmError } from '../errors.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { AdjudicatorRevertError, toAdjudicatorError } from './toAdjudicatorError.ts'

/** A decoded Adjudicator event from a receipt or a log query. */
export type AdjudicatorLog = ParseEventLogsReturnType<typeof Adjudicator.abi, undefined, true>[number]

/** What every write action returns once its transaction is mined. */
export type TxResult = {
  hash: Hex
  blockNumber: bigint
  gasUsed: bigint
  /** The Adjudicator's events of this transaction, in log order. */
  events: AdjudicatorLog[]
}

/**
 * Sends one Adjudicator transaction and waits for its receipt. `send` simulates the call first
 * (so a revert is decoded from the node's answer) and submits it. Reverts become
 * {@link AdjudicatorRevertError}, transport failures `CHAIN_ERROR`. Shared by the write actions.
 *
 * @example
 * ```ts
 * const r = await submitAdjudicatorTx(client, { action: 'withdraw' }, async (wallet, account) => {
 *   const { request } = await client.publicClient.simulateContract({ ...call, account })
 *   return wallet.writeContract(request)
 * })
 * ```
 */
export async function submitAdjudicatorTx(
  client: AdjudicatorClient,
  ctx: { action: string; channelId?: Hex; appAbi?: Abi },
  send: (wallet: WalletClient<Transport, Chain, Account>, account: Account) => Promise<Hex>,
): Promise<TxResult> {
  const wallet = client.walletClient
  const idOpt = ctx.channelId === undefined ? {} : { channelId: ctx.channelId }
  if (wallet === undefined) {
    throw new ChanvmError('CONFIG', `${ctx.action} needs a client with a private key`, idOpt)
  }
  let hash: Hex
  try {
    hash = await send(wallet, wallet.account)
  } catch (e) {
    throw toAdjudicatorError(e, ctx)
  }
  let receipt
  try {
    receipt = await client.publicClient.waitForTransactionReceipt({
      hash,
      timeout: client.receiptTimeoutMs ?? 120_000,
    })
  } catch (e) {
    throw toAdjudicatorError(e, ctx)
  }
  if (receipt.status !== 'success') {
    throw new AdjudicatorRevertError('unknown', [hash], {
      action: `${ctx.action} (mined in block ${receipt.blockNumber})`,
      ...idOpt,
    })
  }
  const ours = receipt.logs.filter((l) => l.address.toLowerCase() === client.address.toLowerCase())
  const events = parseEventLogs({ abi: Adjudicator.abi, logs: ours, strict: true })
  return { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, events }
}
