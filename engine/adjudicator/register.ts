import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, SignedState } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type RegisterArgs = { params: ChannelParams; signed: SignedState }

/**
 * Puts a co-signed state on chain (`Adjudicator.register`): opens a dispute on an open channel
 * (both deadlines at now + challengeDuration), or, during a dispute, replaces the state held when
 * its version is above the record's `baseVersion` (a co-signed state held needs a strictly higher
 * version; a forced chain is replaced whole by any co-signed state above its base). During a
 * dispute it moves both deadlines to at least now + challengeDuration, so that forced steps on the
 * new base stay possible for a full duration: `finalizesAt` is when `conclude` becomes possible,
 * `movesUntil` the end of forced steps.
 *
 * @example
 * ```ts
 * const { finalizesAt, movesUntil } = await register(client, { params, signed: latest })
 * ```
 */
export async function register(
  client: AdjudicatorClient,
  args: RegisterArgs,
): Promise<TxResult & { finalizesAt: bigint; movesUntil: bigint }> {
  const channelId = getChannelId(args.params)
  const r = await submitAdjudicatorTx(client, { action: 'register', channelId }, async (wallet, account) => {
    const { request } = await client.publicClient.simulateContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'register',
      args: [args.params, args.signed.state, [...args.signed.signatures]],
      account,
    })
    // Estimated against the pending block, mined in the block it lands in, whose timestamp may
    // take another path (a dispute's deadlines): an exact estimate can fall a few gas short.
    // Unused gas is not charged.
    const gas = await client.publicClient.estimateContractGas(request)
    return wallet.writeContract({ ...request, gas: gas + gas / 5n + 10_000n })
  })
  const ev = r.events.find((e) => e.eventName === 'Registered')
  if (ev?.eventName !== 'Registered')
    throw new ChanvmError('CHAIN_ERROR', 'register was mined without a Registered event', { channelId })
  return { ...r, finalizesAt: BigInt(ev.args.finalizesAt), movesUntil: BigInt(ev.args.movesUntil) }
}
