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
