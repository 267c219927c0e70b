import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, SignedState } from '../channel/types.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { submitAdjudicatorTx, type TxResult } from './submitAdjudicatorTx.ts'

export type ConcludeFinalArgs = { params: ChannelParams; signed: SignedState }

/**
 * Pays out a co-signed final state at once (`Adjudicator.concludeFinal`), whether or not a
 * dispute is running, as long as the state is not older than the one held.
 *
 * @example
 * ```ts
 * const { payouts } = await concludeFinal(client, { params, signed: finalState })
 * ```
 */
export async function concludeFinal(
  client: AdjudicatorClient,
  args: ConcludeFinalArgs,
): Promise<TxResult & { payouts: bigint[] }> {
  const channelId = getChannelId(args.params)
  const r = await submitAdjudicatorTx(
    client,
    { action: 'concludeFinal', channelId },
    async (wallet, account) => {
      const { request } = await client.publicClient.simulateContract({
        address: client.address,
        abi: Adjudicator.abi,
        functionName: 'concludeFinal',
        args: [args.params, args.signed.state, [...args.signed.signatures]],
        account,
      })
      // Estimated against the pending block, mined in the block it lands in, whose timestamp may
      // take another path (a dispute's deadlines): an exact estimate can fall a few gas short.
      // Unused gas is not charged.
      const gas = await client.publicClient.estimateContractGas(request)
      return wallet.writeContract({ ...request, gas: gas + gas / 5n + 10_000n })
    },
  )
  const ev = r.events.find((e) => e.eventName === 'Concluded')
  return { ...r, payouts: ev?.eventName === 'Concluded' ? [...ev.args.payouts] : [] }
}
