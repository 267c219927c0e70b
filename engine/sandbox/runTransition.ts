import type { Abi, Hex } from 'viem'
import type { ChannelParams, Env, State } from '../channel/types.ts'
import { decodeRevert } from './decodeRevert.ts'
import { decodeTransitionResult, decodeTransitionResultBytes } from './decodeTransitionResult.ts'
import { encodeTransitionCall, encodeTransitionCallBytes } from './encodeTransitionCall.ts'
import type { Sandbox, SandboxFailure } from './createSandbox.ts'

/** Why a step was rejected: a sandbox failure, or an app output the engine does not accept. */
export type StepRejection = SandboxFailure | 'bad-output' | 'conservation' | 'final-state' | 'invalid-mover'

export type StepResult =
  | { ok: true; state: State; gasUsed: bigint }
  | {
      ok: false
      reason: StepRejection
      /** One readable line, e.g. `Overspend(100, 50)` or `out of gas (cap 5000000)`. */
      message: string
      gasUsed: bigint
      /** The app's custom error, when it reverted with one. */
      error?: { name: string; args: readonly unknown[] }
    }

export type RunTransitionRequest = {
  params: ChannelParams
  from: State
  mover: bigint
  action: Hex
  env: Env
  /** The app's runtime bytecode; its keccak256 must equal `params.appCodeHash`. */
  appCode: Hex
  /** The app's ABI, to decode its custom errors. */
  appAbi?: Abi
}

/**
 * Runs `transition(params, from, mover, action, env)` of the channel's app in the sandbox and
 * returns the post-state (version + 1) or the reason it was rejected. Checks what the Adjudicator
 * checks on chain: the code hash, a non-final base state, a valid mover, one balance per
 * participant and conserved totals.
 *
 * @example
 * ```ts
 * const r = await runTransition(sandbox, { params, from, mover: 0n, action, env, appCode })
 * if (r.ok) next = r.state; else console.log(r.reason, r.message)
 * ```
 */
export async function runTransition(sandbox: Sandbox, req: RunTransitionRequest): Promise<StepResult> {
  const { params, from } = req
  if (from.isFinal)
    return {
      ok: false,
      reason: 'final-state',
      message: 'the state is final; no step may follow it',
      gasUsed: 0n,
    }
  if (req.mover >= BigInt(params.participants.length)) {
    return {
      ok: false,
      reason: 'invalid-mover',
      message: `mover ${req.mover} is not a participant index`,
      gasUsed: 0n,
    }
  }
  let data: Hex | Uint8Array
  try {
    data =
      (sandbox.staticCallBytes === undefined
        ? undefined
        : encodeTransitionCallBytes(params, from, req.mover, req.action, req.env)) ??
      encodeTransitionCall(params, from, req.mover, req.action, req.env)
  } catch (e) {
    return {
      ok: false,
      reason: 'bad-output',
      message: `cannot encode the call: ${(e as Error).message.split('\n')[0]}`,
      gasUsed: 0n,
    }
  }
  const call = { address: params.app, code: req.appCode, codeHash: params.appCodeHash, env: req.env }
  // Calldata as bytes goes to the sandbox as bytes and its return data comes back so.
  const r =
    typeof data === 'string' || sandbox.staticCallBytes === undefined
      ? await sandbox.staticCall({ ...call, data: data as Hex })
      : await sandbox.staticCallBytes({ ...call, data })
  if (!r.ok) {
    const decoded = r.failure === 'revert' ? decodeRevert(req.appAbi, r.revertData) : undefined
    const base = { ok: false as const, reason: r.failure, gasUsed: r.gasUsed }
    if (decoded !== undefined)
      return { ...base, message: decoded.text, error: { name: decoded.name, args: decoded.args } }
    return { ...base, message: r.message }
  }
  let out: readonly [Hex, readonly bigint[], boolean]
  try {
    out =
      'returnBytes' in r ? decodeTransitionResultBytes(r.returnBytes) : decodeTransitionResult(r.returnData)
  } catch (e) {
    return {
      ok: false,
      reason: 'bad-output',
      message: `app returned data that is not (bytes, uint256[], bool): ${(e as Error).message.split('\n')[0]}`,
      gasUsed: r.gasUsed,
    }
  }
  const [appData, balances, isFinal] = out
  if (balances.length !== params.participants.length) {
    return {
      ok: false,
      reason: 'bad-output',
      message: `app returned ${balances.length} balances for ${params.participants.length} participants`,
      gasUsed: r.gasUsed,
    }
  }
  const before = from.balances.reduce((a, b) => a + b, 0n)
  const after = balances.reduce((a, b) => a + b, 0n)
  if (before !== after) {
    return {
      ok: false,
      reason: 'conservation',
      message: `balances sum to ${after}, the channel holds ${before}`,
      gasUsed: r.gasUsed,
    }
  }
  const state: State = {
    channelId: from.channelId,
    version: from.version + 1n,
    balances: [...balances],
    appData,
    isFinal,
  }
  return { ok: true, state, gasUsed: r.gasUsed }
}
