import type { Arbitrary } from 'fast-check'
import type { Abi, Address, Hex } from 'viem'
import type { ChannelParams, Env, State } from '../channel/types.ts'

/** A key the checker holds: a channel participant, or an extra actor (an arbiter, an oracle, a meter's owner). */
export type CheckKey = { address: Address; privateKey: Hex }

/** What a step's calldata may depend on: the channel, the state it starts from and the Env it runs with. */
export type StepContext = {
  params: ChannelParams
  channelId: Hex
  /** The state the step starts from (the chain's and the sandbox's, which agreed so far). */
  from: State
  /** The Env the step runs with: the block it is mined in, and what the sandbox is given. */
  env: Env
  /** The participants' keys, in participant order. */
  participants: readonly CheckKey[]
  /** Extra keys that are no participant, for the app's terms (arbiters, oracles, devices' owners). */
  actors: readonly CheckKey[]
}

/** One step of a checked sequence: who moves, after how many seconds, and the action it sends. */
export type CheckStep = {
  /** How the step reads in a report, e.g. `pay(amount=101)`. */
  label: string
  /** Participant index of the mover. */
  mover: bigint
  /** Seconds the chain's clock moves before the step (at least one: each step is its own block). */
  advance: bigint
  /** The action bytes, built when the step runs. */
  action(ctx: StepContext): Hex
}

/** What the channel is opened with, built once the checker knows its keys and addresses. */
export type CheckOpening = {
  /** The initial app data. */
  appData: Hex
  /** The initial balances, one per participant: the channel's total never changes. */
  balances: readonly bigint[]
}

/** An app to check: its compiled contract, how a channel of it opens, and the steps to try. */
export type CheckSubject = {
  name: string
  abi: Abi
  /** Creation bytecode (constructor without arguments). */
  bytecode: Hex
  /** Runtime bytecode: the code the sandbox runs and the chain must hold. */
  deployedBytecode: Hex
  /** The opening state's app data and balances. */
  opening(ctx: Omit<StepContext, 'from' | 'env' | 'params' | 'channelId'> & { app: Address }): CheckOpening
  /** Random steps (fast-check shrinks sequences of them). */
  step: Arbitrary<CheckStep>
  /** Sequences to run before the random ones. */
  sequences?: readonly (readonly CheckStep[])[]
}

/** How one side (the sandbox or the chain) ended a step, in terms both sides share. */
export type StepOutcome =
  | { kind: 'state'; state: State }
  /** The app reverted; `data` is the revert data (`0x` for none: invalid opcode, out of gas). */
  | { kind: 'revert'; data: Hex; reason: string }
  /** The app's balances do not add up to the channel's total. */
  | { kind: 'not-conserved'; reason: string }
  /** The app returned something that is not `(bytes, uint256[], bool)` with one balance per participant. */
  | { kind: 'bad-output'; reason: string }
  /** The step starts from a final state: refused before the app runs. */
  | { kind: 'final'; reason: string }
  /** A limit of the sandbox alone (gas cap, wall clock, sizes). */
  | { kind: 'cap'; reason: string }
  /** The chain refused the step for a reason that is not the app's (the checker's own set-up). */
  | { kind: 'chain'; reason: string }

/** The kinds of finding, most specific first. */
export type FindingKind =
  /** The app needs more gas than the sandbox allows. */
  | 'gas-cap'
  /** The app reads the block (timestamp, number, ...) rather than `env`: the sandbox's block context changes its result. */
  | 'block-context'
  /** The app's result depends on the gas it is given (`gasleft()`). */
  | 'gasleft'
  /** The sandbox and the chain disagree on the post-state, the balances or the revert. */
  | 'divergence'
  /** Balances that do not add up to the channel's total. */
  | 'not-conserved'
  /** Output the engine cannot take: wrong shape, wrong number of balances. */
  | 'bad-output'
  /** A final state from which the app still accepts a step. */
  | 'not-final'

/** One step as it ran: both outcomes and the gas. */
export type StepRecord = {
  step: CheckStep
  env: Env
  sandbox: StepOutcome
  chain: StepOutcome
  /** Gas the sandbox's run of `transition` used. */
  sandboxGas: bigint
  /** Gas of the `forceProgress` transaction. */
  chainTxGas: bigint
  /** Gas the app's `transition` used inside it, from the chain's call trace. */
  chainAppGas: bigint | undefined
}

/** A rule broken or a disagreement, with the sequence that shows it (ending with the step at fault). */
export type CheckFinding = {
  kind: FindingKind
  /** One line a person can read. */
  message: string
  /** The steps up to and including the one at fault. */
  sequence: readonly StepRecord[]
}

/** Gas figures of one action label on chain. */
export type ActionGas = {
  count: number
  /** `forceProgress` transaction gas: min, max, mean. */
  txMin: bigint
  txMax: bigint
  txMean: bigint
  /** The app's `transition` gas inside the transaction: the largest seen. */
  appMax: bigint
}

/** The checker's answer. `findings` is empty for a clean bill. */
export type CheckReport = {
  app: string
  /** Sequences run (given, random and shrinking). */
  sequences: number
  /** Steps run on both sides. */
  steps: number
  /** Steps the chain accepted (a new state): a check that saw only reverts proves little. */
  accepted: number
  /** The seed of the random sequences: pass it again to replay them. */
  seed: number
  findings: readonly CheckFinding[]
  /** By action name (the label up to its first parenthesis). */
  gas: Readonly<Record<string, ActionGas>>
  /** The sandbox's gas cap the steps were held to. */
  gasCap: bigint
}

/** Progress of a long check, for a command to show. */
export type CheckProgress = {
  phase: 'setup' | 'given' | 'random' | 'shrinking'
  /** Sequences finished in this phase. */
  done: number
  /** Sequences planned in this phase, when known. */
  total?: number
  steps: number
}
