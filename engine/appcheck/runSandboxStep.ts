import { decodeFunctionResult, encodeFunctionData, type Abi, type Hex } from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'
import type { ChannelParams, Env, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import { decodeRevert } from '../sandbox/decodeRevert.ts'
import type { StepOutcome } from './types.ts'

/** One step for {@link runSandboxStep}. */
export type SandboxStepRequest = {
  params: ChannelParams
  from: State
  mover: bigint
  action: Hex
  /** The Env passed to `transition` (the chain's block). */
  env: Env
  /** The block context the EVM runs with; default `env`. The checker makes it differ on purpose. */
  blockContext?: Env
  code: Hex
  abi: Abi
  /** Call the app even from a final state (to see whether it refuses on its own). */
  ignoreFinal?: boolean
}

/**
 * Runs one `transition` in the sandbox with the checks the Adjudicator makes (a final base, one
 * balance per participant, conserved totals) and returns the outcome in the terms the chain's
 * outcome uses, keeping the raw revert data so both sides compare byte for byte. The block context
 * can differ from the Env given to the app: an app that reads only `env` cannot tell.
 *
 * @example
 * ```ts
 * const o = await runSandboxStep(sandbox, { params, from, mover: 0n, action, env, code, abi })
 * if (o.kind === 'revert') console.log(o.reason)
 * ```
 */
export async function runSandboxStep(
  sandbox: Sandbox,
  req: SandboxStepRequest,
): Promise<{ outcome: StepOutcome; gasUsed: bigint }> {
  const { params, from } = req
  if (from.isFinal && req.ignoreFinal !== true)
    return { outcome: { kind: 'final', reason: 'the state is final; no step may follow it' }, gasUsed: 0n }
  const data = encodeFunctionData({
    abi: IApp.abi,
    functionName: 'transition',
    args: [params, from, req.mover, req.action, req.env],
  })
  const r = await sandbox.staticCall({
    address: params.app,
    code: req.code,
    codeHash: params.appCodeHash,
    data,
    env: req.blockContext ?? req.env,
  })
  if (!r.ok) {
    switch (r.failure) {
      case 'revert': {
        const revertData = r.revertData ?? '0x'
        const reason =
          decodeRevert(req.abi, revertData)?.text ?? (revertData === '0x' ? r.message : revertData)
        return { outcome: { kind: 'revert', data: revertData, reason }, gasUsed: r.gasUsed }
      }
      case 'invalid-opcode':
      case 'state-write':
      case 'evm-error':
        return { outcome: { kind: 'revert', data: '0x', reason: r.message }, gasUsed: r.gasUsed }
      case 'out-of-gas':
      case 'time-cap':
      case 'calldata-cap':
      case 'returndata-cap':
        return { outcome: { kind: 'cap', reason: r.message }, gasUsed: r.gasUsed }
      default:
        throw new ChanvmError('CONFIG', `the sandbox cannot run the app: ${r.message}`)
    }
  }
  let out: readonly [Hex, readonly bigint[], boolean]
  try {
    out = decodeFunctionResult({ abi: IApp.abi, functionName: 'transition', data: r.returnData })
  } catch (e) {
    const reason = `the app returned data that is not (bytes, uint256[], bool): ${(e as Error).message.split('\n')[0]}`
    return { outcome: { kind: 'bad-output', reason }, gasUsed: r.gasUsed }
  }
  const [appData, balances, isFinal] = out
  const n = params.participants.length
  if (balances.length !== n) {
    const reason = `the app returned ${balances.length} balances for ${n} participants`
    return { outcome: { kind: 'bad-output', reason }, gasUsed: r.gasUsed }
  }
  const before = from.balances.reduce((a, b) => a + b, 0n)
  const after = balances.reduce((a, b) => a + b, 0n)
  if (before !== after) {
    const reason = `balances [${balances.join(', ')}] sum to ${after}, the channel holds ${before}`
    return { outcome: { kind: 'not-conserved', reason }, gasUsed: r.gasUsed }
  }
  const state: State = {
    channelId: from.channelId,
    version: from.version + 1n,
    balances: [...balances],
    appData,
    isFinal,
  }
  return { outcome: { kind: 'state', state }, gasUsed: r.gasUsed }
}
