import { signMove } from '../adjudicator/signMove.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import { signState } from '../channel/signState.ts'
import type { ChannelParams, Env, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import { judgeStep } from './judgeStep.ts'
import { runSandboxStep } from './runSandboxStep.ts'
import type { CheckChain } from './startCheckChain.ts'
import type { CheckFinding, CheckStep, CheckSubject, StepRecord } from './types.ts'

/** Challenge duration of the checker's channels: long, so that no sequence outlives its dispute. */
export const CHECK_CHALLENGE_DURATION = 365n * 24n * 3600n

/**
 * How far the sandbox's block context is from the chain's: the app is given the chain's block as
 * `env`, but the EVM's own block (what `block.timestamp` and `block.number` read) is this much
 * later, so an app that reads the block instead of `env` gives a different result.
 */
export const BLOCK_CONTEXT_SKEW: Env = { blockNumber: 1_000_003n, timestamp: 400n * 24n * 3600n + 17n }

/** What {@link runCheckSequence} runs with. */
export type CheckSequenceContext = {
  subject: CheckSubject
  chain: CheckChain
  /** The sandbox at the node's gas cap. */
  sandbox: Sandbox
  /** A second sandbox with a larger gas cap: a result that changes with it reads `gasleft()`. */
  sandboxMoreGas: Sandbox
  /** A fresh channel nonce per sequence. */
  nonce: bigint
}

/**
 * Runs one sequence of steps on a fresh channel: each step is forced on chain (`forceProgress`,
 * mined at a chosen time) and run in the sandbox with the block's Env, and the two outcomes are
 * judged ({@link judgeStep}). Stops at the first finding and returns it with the steps up to it.
 *
 * @example
 * ```ts
 * const { records, finding } = await runCheckSequence(ctx, [pay(5), close()])
 * ```
 */
export async function runCheckSequence(
  ctx: CheckSequenceContext,
  steps: readonly CheckStep[],
): Promise<{ records: StepRecord[]; finding: CheckFinding | undefined }> {
  const { chain, subject } = ctx
  const params: ChannelParams = {
    chainId: BigInt(chain.chainId),
    adjudicator: chain.adjudicator,
    participants: chain.participants.map((p) => p.address),
    app: chain.app,
    appCodeHash: chain.appCodeHash,
    challengeDuration: CHECK_CHALLENGE_DURATION,
    nonce: ctx.nonce,
  }
  const channelId = getChannelId(params)
  const opening = subject.opening({ participants: chain.participants, actors: chain.actors, app: chain.app })
  const first: State = {
    channelId,
    version: 1n,
    balances: [...opening.balances],
    appData: opening.appData,
    isFinal: false,
  }
  const openingSignatures = chain.participants.map((p) => signState(params, first, p.privateKey))
  let from = first
  let registered = false
  let head = await chain.head()
  const records: StepRecord[] = []
  const gasCap = ctx.sandbox.limits.gasCap
  for (const step of steps) {
    const moverKey = chain.participants[Number(step.mover)]
    if (moverKey === undefined)
      throw new ChanvmError(
        'INVALID_ARGUMENT',
        `step ${step.label}: mover ${step.mover} is not a participant`,
      )
    const env: Env = {
      blockNumber: head.blockNumber + 1n,
      timestamp: head.timestamp + (step.advance > 0n ? step.advance : 1n),
    }
    const action = step.action({
      params,
      channelId,
      from,
      env,
      participants: chain.participants,
      actors: chain.actors,
    })
    const c = await chain.force({
      params,
      from,
      fromSignatures: registered ? [] : openingSignatures,
      mover: step.mover,
      action,
      moverSignature: signMove(params, from, step.mover, action, moverKey.privateKey),
      timestamp: env.timestamp,
      abi: subject.abi,
    })
    if (c.env.blockNumber !== env.blockNumber)
      throw new ChanvmError(
        'CHAIN_ERROR',
        `the step was mined in block ${c.env.blockNumber}, not ${env.blockNumber}`,
      )
    head = env
    const skewed: Env = {
      blockNumber: env.blockNumber + BLOCK_CONTEXT_SKEW.blockNumber,
      timestamp: env.timestamp + BLOCK_CONTEXT_SKEW.timestamp,
    }
    const req = {
      params,
      from,
      mover: step.mover,
      action,
      env,
      code: subject.deployedBytecode,
      abi: subject.abi,
    }
    const main = await runSandboxStep(ctx.sandbox, { ...req, blockContext: skewed })
    const chainContext = await runSandboxStep(ctx.sandbox, req)
    const moreGas = await runSandboxStep(ctx.sandboxMoreGas, { ...req, blockContext: skewed })
    const acceptedAfterFinal =
      from.isFinal &&
      (await runSandboxStep(ctx.sandbox, { ...req, blockContext: skewed, ignoreFinal: true })).outcome
        .kind === 'state'
    records.push({
      step,
      env,
      sandbox: main.outcome,
      chain: c.outcome,
      sandboxGas: main.gasUsed,
      chainTxGas: c.txGas,
      chainAppGas: c.appGas,
    })
    const verdict = judgeStep({
      chain: c.outcome,
      sandbox: main.outcome,
      sandboxChainContext: chainContext.outcome,
      sandboxMoreGas: moreGas.outcome,
      acceptedAfterFinal,
      chainAppGas: c.appGas,
      gasCap,
    })
    if (verdict !== undefined) return { records, finding: { ...verdict, sequence: records } }
    if (c.outcome.kind === 'state') {
      from = c.outcome.state
      registered = true
    }
  }
  return { records, finding: undefined }
}
