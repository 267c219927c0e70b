import { encodeAbiParameters, keccak256, type Hex } from 'viem'
import { channelParamsAbi, type ChannelParams } from './types.ts'

/**
 * `keccak256(abi.encode(params))`, as the Adjudicator computes it. Chain id, adjudicator, app,
 * code hash and challenge duration are all inside, so none can be swapped later.
 *
 * @example
 * ```ts
 * const id = getChannelId(params)
 * ```
 */
export function getChannelId(params: ChannelParams): Hex {
  return keccak256(encodeAbiParameters([channelParamsAbi], [params]))
}
