import type { Address, Hex } from 'viem'
import { chanvmDomainSeparator, eip712Types, hashChanvmMessage, hashStruct, typeHash } from './eip712.ts'
import type { State } from './types.ts'

export { chanvmDomain, typedDigest, writeUint256 } from './eip712.ts'

/** `keccak256("State(bytes32 channelId,uint64 version,uint256[] balances,bytes appData,bool isFinal)")` */
export const STATE_TYPEHASH: Uint8Array = typeHash('State')

/** EIP-712 types of a State (from the compiled ABI), for viem's `signTypedData` and `hashTypedData`. */
export const stateTypes = { State: eip712Types.State } as const

/** The EIP-712 domain separator for `(chainId, adjudicator)`, cached. */
export function domainSeparator(chainId: bigint, adjudicator: Address): Uint8Array {
  return chanvmDomainSeparator(chainId, adjudicator)
}

/** The EIP-712 struct hash of a State: what the Adjudicator stores as the held state's hash. */
export function hashStateStruct(state: State): Uint8Array {
  return hashStruct('State', state)
}

/**
 * The EIP-712 digest every participant signs for a state, identical to `StateDigest.digest` in
 * Solidity and to viem's `hashTypedData` with {@link chanvmDomain} and {@link stateTypes}.
 *
 * @example
 * ```ts
 * const digest = hashState(params.chainId, params.adjudicator, state)
 * ```
 */
export function hashState(chainId: bigint, adjudicator: Address, state: State): Hex {
  return hashChanvmMessage(chainId, adjudicator, 'State', state)
}
