import type { Hex } from 'viem'
import { signDigest } from '../crypto/signDigest.ts'
import { hashState } from './hashState.ts'
import type { ChannelParams, State } from './types.ts'

/**
 * Signs a state's EIP-712 digest (domain from `params`) with a participant's private key.
 *
 * @example
 * ```ts
 * const sig = signState(params, state, alicePrivateKey)
 * ```
 */
export function signState(params: ChannelParams, state: State, privateKey: Hex): Hex {
  return signDigest(hashState(params.chainId, params.adjudicator, state), privateKey)
}
