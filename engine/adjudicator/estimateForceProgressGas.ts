import { encodeFunctionData } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import type { ForceProgressArgs } from './forceProgress.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

/**
 * Estimates the gas a forced step would cost now (`eth_estimateGas` against the chain head),
 * before anything is sent. A step that would revert throws the decoded revert instead, so this
 * doubles as a dry run.
 *
 * @example
 * ```ts
 * const gas = await estimateForceProgressGas(client, { params, from, mover: 0n, action, moverSignature })
 * const fee = gas * (await client.publicClient.getGasPrice())
 * ```
 */
export async function estimateForceProgressGas(
  client: AdjudicatorClient,
  args: ForceProgressArgs,
): Promise<bigint> {
  const channelId = getChannelId(args.params)
  const data = encodeFunctionData({
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
  })
  try {
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
      ...(client.account === undefined ? {} : { account: client.account }),
    })
    void request
    return await client.publicClient.estimateGas({
      to: client.address,
      data,
      ...(client.account === undefined ? {} : { account: client.account }),
    })
  } catch (e) {
    throw toAdjudicatorError(e, {
      action: 'estimateForceProgressGas',
      channelId,
      ...(args.appAbi === undefined ? {} : { appAbi: args.appAbi }),
    })
  }
}
