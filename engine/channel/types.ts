import type { AbiParameterToPrimitiveType, Address, Hex } from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'

/** The ABI parameters of `IApp.transition`, generated from the compiled contract. */
export const transitionAbi = IApp.abi[0]
type TransitionInputs = (typeof transitionAbi)['inputs']

/** The Solidity `ChannelParams` struct as the ABI gives it (fixed for the life of a channel). */
export type ChannelParams = AbiParameterToPrimitiveType<TransitionInputs[0]>
/** The Solidity `State` struct. */
export type State = AbiParameterToPrimitiveType<TransitionInputs[1]>
/** The Solidity `Env` struct: the block number and timestamp a step is evaluated at. */
export type Env = AbiParameterToPrimitiveType<TransitionInputs[4]>

/** ABI parameter descriptions for encoding the structs on their own. */
export const channelParamsAbi = transitionAbi.inputs[0]
export const stateAbi = transitionAbi.inputs[1]
export const envAbi = transitionAbi.inputs[4]

/** A state with one signature per participant, in participant order. */
export type SignedState = {
  readonly state: State
  readonly signatures: readonly Hex[]
}

export type { Address, Hex }

/** One step the Adjudicator applied on chain (`Progressed`): who moved, what, when, and the result. */
export type ForcedMove = {
  readonly mover: bigint
  readonly action: Hex
  /** The block the step ran in: the Env the app saw on chain. */
  readonly env: Env
  /** The state the chain held after the step (version = previous + 1). */
  readonly state: State
}

/**
 * A chain of forced steps as the chain holds it: the co-signed state it grew from (`base`, the
 * record's `baseVersion`) and every step since, in order. The watcher builds it from `Registered`
 * and `Progressed` events; a party adopts it only if `base` is at or above its latest co-signed
 * state (and is that very state at the same version) and every step re-runs to the same state.
 */
export type ForcedChain = {
  readonly channelId: Hex
  readonly base: State
  readonly moves: readonly ForcedMove[]
}
