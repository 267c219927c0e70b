import { encodeState } from '../channel/encodeState.ts'
import { describeOutcome } from './describeOutcome.ts'
import type { FindingKind, StepOutcome } from './types.ts'

/** Everything {@link judgeStep} weighs about one step. */
export type StepEvidence = {
  /** The chain's outcome (`forceProgress` on anvil). */
  chain: StepOutcome
  /** The sandbox's outcome with the checker's block context (deliberately not the chain's). */
  sandbox: StepOutcome
  /** The sandbox's outcome with the chain's own block context. */
  sandboxChainContext: StepOutcome
  /** The sandbox's outcome with the checker's block context and a larger gas cap. */
  sandboxMoreGas: StepOutcome
  /** From a final state: whether the app, called directly, still accepted the step. */
  acceptedAfterFinal: boolean
  /** Gas of the app's `transition` on chain, when the trace gave it. */
  chainAppGas: bigint | undefined
  /** The sandbox's gas cap. */
  gasCap: bigint
}

/** A comparable text for an outcome: equal keys mean the two sides agree. */
function outcomeKey(o: StepOutcome): string {
  switch (o.kind) {
    case 'state':
      return `state ${encodeState(o.state)}`
    case 'revert':
      return `revert ${o.data.toLowerCase()}`
    default:
      return o.kind
  }
}

/**
 * The rule a step breaks, if any, most specific first: more gas than the sandbox allows, a result
 * that changes with the block context (the app reads the block, not `env`), one that changes with
 * the gas given (`gasleft()`), any other disagreement between the sandbox and the chain, balances
 * that do not add up, output the engine cannot take, and a final state that still takes steps.
 * Pure: the evidence is gathered by the caller.
 *
 * @example
 * ```ts
 * const verdict = judgeStep({ chain, sandbox, sandboxChainContext, sandboxMoreGas, acceptedAfterFinal: false, chainAppGas, gasCap })
 * if (verdict !== undefined) console.log(verdict.kind, verdict.message)
 * ```
 */
export function judgeStep(e: StepEvidence): { kind: FindingKind; message: string } | undefined {
  if (e.chainAppGas !== undefined && e.chainAppGas > e.gasCap) {
    return {
      kind: 'gas-cap',
      message: `the app used ${e.chainAppGas} gas on chain, more than the sandbox's cap of ${e.gasCap}`,
    }
  }
  if (e.sandbox.kind === 'cap') {
    return { kind: 'gas-cap', message: `the sandbox refused the step: ${e.sandbox.reason}` }
  }
  const main = outcomeKey(e.sandbox)
  if (main !== outcomeKey(e.sandboxChainContext)) {
    return {
      kind: 'block-context',
      message:
        'the result changes with the block context: the app reads block.timestamp, block.number or another ' +
        `block field instead of env (sandbox: ${describeOutcome(e.sandbox)}; with the chain's block: ` +
        `${describeOutcome(e.sandboxChainContext)})`,
    }
  }
  if (main !== outcomeKey(e.sandboxMoreGas)) {
    return {
      kind: 'gasleft',
      message:
        'the result changes with the gas the app is given: it reads gasleft() ' +
        `(sandbox: ${describeOutcome(e.sandbox)}; with more gas: ${describeOutcome(e.sandboxMoreGas)})`,
    }
  }
  if (main !== outcomeKey(e.chain)) {
    return {
      kind: 'divergence',
      message: `sandbox and chain disagree (sandbox: ${describeOutcome(e.sandbox)}; chain: ${describeOutcome(e.chain)})`,
    }
  }
  if (e.sandbox.kind === 'not-conserved') {
    return { kind: 'not-conserved', message: `balances do not add up: ${e.sandbox.reason}` }
  }
  if (e.sandbox.kind === 'bad-output') {
    return { kind: 'bad-output', message: e.sandbox.reason }
  }
  if (e.acceptedAfterFinal) {
    return {
      kind: 'not-final',
      message:
        'the state is final, yet the app accepts a step from it (it must revert: final means no step follows)',
    }
  }
  return undefined
}
