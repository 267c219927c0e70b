import {
  BaseError,
  decodeErrorResult,
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
    throw new AdjudicatorRevertError(
      'unknown',
      [hash, ...(await explainMinedRevert(client, hash, receipt, ctx))],
      {
        action: `${ctx.action} (mined in block ${receipt.blockNumber})`,
        ...idOpt,
      },
    )
  }
  const ours = receipt.logs.filter((l) => l.address.toLowerCase() === client.address.toLowerCase())
  const events = parseEventLogs({ abi: Adjudicator.abi, logs: ours, strict: true })
  return { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, events }
}

/**
 * Why a transaction that passed its simulation reverted once mined: its gas against its limit, and
 * the verdict of the same call replayed on the block before (the state it met, up to its own
 * block's time). A diagnosis for the error's text only; the revert stays `unknown`, since the
 * replay does not see the mined block's exact environment.
 */
async function explainMinedRevert(
  client: AdjudicatorClient,
  hash: Hex,
  receipt: { blockNumber: bigint; gasUsed: bigint },
  ctx: { action: string; channelId?: Hex; appAbi?: Abi },
): Promise<string[]> {
  try {
    const tx = await client.publicClient.getTransaction({ hash })
    const out = [`gas used ${receipt.gasUsed} of ${tx.gas}`]
    try {
      await client.publicClient.call({
        account: tx.from,
        to: tx.to ?? undefined,
        data: tx.input,
        value: tx.value,
        gas: tx.gas,
        blockNumber: receipt.blockNumber - 1n,
      })
      out.push(`replayed on block ${receipt.blockNumber - 1n}: succeeds`)
    } catch (e) {
      out.push(
        `replayed on block ${receipt.blockNumber - 1n}: ${revertOf(e) ?? toAdjudicatorError(e, ctx).message}`,
      )
    }
    return out
  } catch (e) {
    return [`no diagnosis: ${e instanceof Error ? e.message : String(e)}`]
  }
}

/** The Adjudicator's custom error in a failed `call`, as `Name(args)`, if it carries one. */
function revertOf(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined
  // As viem's own call does: the revert data sits on the innermost error, or in its data object.
  const inner = error.walk() as { data?: unknown }
  const data = typeof inner.data === 'object' ? (inner.data as { data?: unknown } | null)?.data : inner.data
  if (typeof data !== 'string' || !data.startsWith('0x')) return undefined
  try {
    const r = decodeErrorResult({ abi: Adjudicator.abi, data: data as Hex })
    return `${r.errorName}(${(r.args ?? []).map(String).join(', ')})`
  } catch {
    return undefined
  }
}
