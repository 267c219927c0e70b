import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, SignedState } from '../channel/types.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type RegisterArgs = { params: ChannelParams; signed: SignedState }

/**
 * Puts a co-signed state on chain (`Adjudicator.register`): opens a dispute, or refutes the state
 * held with a strictly higher version. Either way the timeout restarts; `finalizesAt` is when
 * `conclude` becomes possible.
 *
 * @example
 * ```ts
 * const { finalizesAt } = await register(client, { params, signed: latest })
 * ```
 */
export async function register(client: AdjudicatorClient, args: RegisterArgs): Promise<TxResult & { finalizesAt: bigint }> {
  const channelId = getChannelId(args.params)
  const r = await submitAdjudicatorTx(client, { action: 'register', channelId }, async (wallet, account) => {
    const { request } = await client.publicClient.simulateContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'register',
      args: [args.params, args.signed.state, [...args.signed.signatures]],
      account,
    })
    return wallet.writeContract(request)
  })
  const ev = r.events.find((e) => e.eventName === 'Registered')
  return { ...r, finalizesAt: ev?.eventName === 'Registered' ? BigInt(ev.args.finalizesAt) : 0n }
}
