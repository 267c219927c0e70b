import assert from 'node:assert/strict'
import { encodeFunctionData, encodeFunctionResult, type Abi, type Address, type Hex } from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { ChannelParams, Env, State } from '../../engine/channel/types.ts'
import { decodeRevert } from '../../engine/sandbox/decodeRevert.ts'
import type { Sandbox } from '../../engine/sandbox/createSandbox.ts'
import type { StepResult } from '../../engine/sandbox/runTransition.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import { ADJUDICATOR, APP_ADDRESS, testAddresses, testKeys } from '../support/channel.ts'

/** What an app test needs of an app object (escrowApp, tvDeliveryApp, coldChainApp). */
export type TestApp = { abi: Abi; code: Hex; codeHash: Hex }

/** Fixed oracle and device keys, so failures reproduce (P-256 scalars are below the group order). */
export const oracleKeys = {
  k1a: { curve: 'secp256k1', privateKey: testKeys[3] as Hex },
  k1b: { curve: 'secp256k1', privateKey: `0x${'4b'.repeat(32)}` },
  p256a: { curve: 'p256', privateKey: `0x${'1c'.repeat(32)}` },
  p256b: { curve: 'p256', privateKey: `0x${'2d'.repeat(32)}` },
  outsider: { curve: 'secp256k1', privateKey: `0x${'5e'.repeat(32)}` },
} as const satisfies Record<string, OracleKey>

/** A two-party channel of `app` between test accounts 0 and 1, with `appData` as version 0. */
export function appChannel(opts: {
  app: TestApp
  appData: Hex
  balances: readonly bigint[]
  chainId?: bigint
  nonce?: bigint
}) {
  const params: ChannelParams = {
    chainId: opts.chainId ?? 31337n,
    adjudicator: ADJUDICATOR,
    participants: [testAddresses[0] as Address, testAddresses[1] as Address],
    app: APP_ADDRESS,
    appCodeHash: opts.app.codeHash,
    challengeDuration: 60n,
    nonce: opts.nonce ?? 1n,
  }
  const channelId = getChannelId(params)
  const initial: State = {
    channelId,
    version: 0n,
    balances: [...opts.balances],
    appData: opts.appData,
    isFinal: false,
  }
  return { params, channelId, initial, keys: [testKeys[0] as Hex, testKeys[1] as Hex] as const }
}

/** The post-state of an accepted step (fails the test otherwise, with the app's reason). */
export function expectState(r: StepResult): State {
  if (!r.ok) assert.fail(`step rejected: ${r.reason}: ${r.message}`)
  return r.state
}

/**
 * Asserts that the step was rejected by the app with custom error `name` (and `args`, when given).
 */
export function expectAppError(r: StepResult, name: string, args?: readonly unknown[]): void {
  if (r.ok) assert.fail(`expected ${name}, the step was accepted (balances ${r.state.balances.join(', ')})`)
  assert.equal(r.reason, 'revert', r.message)
  assert.equal(r.error?.name, name, r.message)
  if (args !== undefined) assert.deepEqual(r.error?.args, args, r.message)
}

/**
 * Calls the app's `transition` directly in the sandbox, without the engine's own checks (final
 * base state, mover range), as the Adjudicator would: returns the decoded custom error's name.
 */
export async function rawRevert(
  sandbox: Sandbox,
  app: TestApp,
  params: ChannelParams,
  from: State,
  mover: bigint,
  action: Hex,
  env: Env,
): Promise<string | undefined> {
  const data = encodeFunctionData({
    abi: IApp.abi,
    functionName: 'transition',
    args: [params, from, mover, action, env],
  })
  const r = await sandbox.staticCall({
    address: params.app,
    code: app.code,
    codeHash: app.codeHash,
    data,
    env,
  })
  if (r.ok) return undefined
  return decodeRevert(app.abi, r.revertData)?.name
}

/**
 * A sandbox for a cheating party (go-perun's "mallory"): while `lie` holds a post-state, every
 * call "succeeds" with it, so the cheater's own checks pass and its proposal reaches the peer.
 */
export function createLyingSandbox(real: Sandbox): Sandbox & {
  lie(post: { appData: Hex; balances: readonly bigint[]; isFinal: boolean } | undefined): void
} {
  let forged: Hex | undefined
  return {
    limits: real.limits,
    lie(post) {
      forged =
        post === undefined
          ? undefined
          : encodeFunctionResult({
              abi: IApp.abi,
              functionName: 'transition',
              result: [post.appData, [...post.balances], post.isFinal],
            })
    },
    async staticCall(request) {
      if (forged !== undefined) return { ok: true, returnData: forged, gasUsed: 21_000n }
      return real.staticCall(request)
    },
  }
}

/** Records the gas of named steps, to report and to hold against budgets. */
export function createGasLog() {
  const entries = new Map<string, bigint>()
  return {
    entries,
    note(name: string, r: StepResult) {
      if (r.ok) entries.set(name, r.gasUsed)
    },
    print(title: string) {
      if (process.env.CHANVM_PRINT_GAS === undefined) return
      process.stdout.write(`\n  gas (${title}):\n`)
      for (const [k, v] of entries) process.stdout.write(`    ${k.padEnd(50)} ${v}\n`)
    },
  }
}
