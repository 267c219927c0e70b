import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, State } from '../channel/types.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type ConcludeArgs = {
  params: ChannelParams
  /** The state held on chain, in full (the chain keeps only its hash). */
  state: State
}

/**
 * Pays out the state held once the dispute's timeout has passed (`Adjudicator.conclude`). Payouts
 * are credited per participant address; each takes them with `withdraw`.
 *
 * @example
 * ```ts
 * const { payouts } = await conclude(client, { params, state: held })
 * ```
 */
export async function conclude(
  client: AdjudicatorClient,
  args: ConcludeArgs,
): Promise<TxResult & { payouts: bigint[] }> {
  const channelId = getChannelId(args.params)
  const r = await submitAdjudicatorTx(client, { action: 'conclude', channelId }, async (wallet, account) => {
    const { request } = await client.publicClient.simulateContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'conclude',
      args: [args.params, args.state],
      account,
    })
    // Estimated against the pending block, mined in the block it lands in, whose timestamp may
    // take another path (a dispute's deadlines): an exact estimate can fall a few gas short.
    // Unused gas is not charged.
    const gas = await client.publicClient.estimateContractGas(request)
    return wallet.writeContract({ ...request, gas: gas + gas / 5n + 10_000n })
  })
  const ev = r.events.find((e) => e.eventName === 'Concluded')
  return { ...r, payouts: ev?.eventName === 'Concluded' ? [...ev.args.payouts] : [] }
}
