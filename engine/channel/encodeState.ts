import { encodeAbiParameters, type Hex } from 'viem'
import { stateAbi, type State } from './types.ts'

/**
 * `abi.encode(state)`: the canonical bytes of a state. Two states are the same state exactly when
 * these bytes are equal; the off-chain/on-chain equivalence tests compare them.
 *
 * @example
 * ```ts
 * assert.equal(encodeState(offChain), encodeState(onChain))
 * ```
 */
export function encodeState(state: State): Hex {
  return encodeAbiParameters([stateAbi], [state])
}
