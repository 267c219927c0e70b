import type { Abi, Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, Env, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

export type ForceProgressArgs = {
  params: ChannelParams
  /** The base state: the state held on chain, or a co-signed state newer than it. */
  from: State
  /** Signatures of `from` when it is not the state held (it is registered in the same call). Omit or leave empty for the state held. */
  fromSignatures?: readonly Hex[]
  /** Participant index of the mover. */
  mover: bigint
  action: Hex
  /** The mover's signature over {@link hashMove}(params, from, mover, action). */
  moverSignature: Hex
  /** The app's ABI, to decode its error when the step reverts (`AppReverted`). */
  appAbi?: Abi
}

/** The forced state as the chain stored it, and the Env it was computed with. */
export type ForceProgressResult = TxResult & {
  state: State
  /** The block the step ran in: its number and timestamp. */
  env: Env
  /** When the dispute can be concluded after this step: at least `env.timestamp + challengeDuration`. */
  finalizesAt: bigint
  /** Version of the co-signed state the forced chain grew from. */
  baseVersion: bigint
}

/**
 * Runs one app step on chain (`Adjudicator.forceProgress`): the Adjudicator calls the app's
 * `transition` with the real block as Env, checks conservation and holds the result as
 * `from.version + 1` over the same base. Accepted only before the dispute's `movesUntil`
 * (`MovesClosed`; a co-signed base registered with the step, or before it, moves `movesUntil` to
 * at least its registration + challengeDuration); it gives the other side at least a full
 * challenge duration to answer. Returns
 * the stored state, decoded from the `Progressed` event, and the Env (the block's number and
 * timestamp) it ran with.
 *
 * @example
 * ```ts
 * const action = escrowActions.release()
 * const moverSignature = signMove(params, held, 0n, action, aliceKey)
 * const { state } = await forceProgress(client, { params, from: held, mover: 0n, action, moverSignature })
 * ```
 */
export async function forceProgress(
  client: AdjudicatorClient,
  args: ForceProgressArgs,
): Promise<ForceProgressResult> {
  const channelId = getChannelId(args.params)
  const ctx = {
    action: 'forceProgress',
    channelId,
    ...(args.appAbi === undefined ? {} : { appAbi: args.appAbi }),
  }
  const r = await submitAdjudicatorTx(client, ctx, async (wallet, account) => {
    const { request } = await client.publicClient.simulateContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'forceProgress',
      args: [
        args.params,
        args.from,
        [...(args.fromSignatures ?? [])],
        args.mover,
        args.action,
        args.moverSignature,
      ],
      account,
    })
    // The node estimates against the pending block, the step runs in the block it lands in: its
    // timestamp decides whether `finalizesAt` moves and may change the app's path, so an exact
    // estimate can fall a few gas short. Unused gas is not charged.
    const gas = await client.publicClient.estimateContractGas(request)
    return wallet.writeContract({ ...request, gas: gas + gas / 5n + 10_000n })
  })
  const ev = r.events.find((e) => e.eventName === 'Progressed')
  if (ev?.eventName !== 'Progressed')
    throw new ChanvmError('CHAIN_ERROR', 'forceProgress was mined without a Progressed event', { channelId })
  let timestamp: bigint
  try {
    timestamp = (await client.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp
  } catch (e) {
    throw toAdjudicatorError(e, ctx)
  }
  const env: Env = { blockNumber: r.blockNumber, timestamp }
  const state = { ...ev.args.state, balances: [...ev.args.state.balances] }
  return { ...r, state, env, finalizesAt: BigInt(ev.args.finalizesAt), baseVersion: ev.args.baseVersion }
}
