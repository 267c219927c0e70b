import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, hexToBytes, type Address, type Hex } from 'viem'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition, type StepResult } from '../../engine/sandbox/runTransition.ts'
import { encodeTransitionCall, encodeTransitionCallBytes } from '../../engine/sandbox/encodeTransitionCall.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { appCodeOf, benchChannel } from '../../bench/benchChannel.ts'
import { loopApp } from '../../bench/loopApp.ts'
import { fixedEnv, testAddresses } from '../support/channel.ts'

/** The same step's outcome, or the first line of what it threw. */
const outcome = async (f: () => Promise<StepResult>) => {
  try {
    return { value: await f() }
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] }
  }
}

describe('sandbox: a step’s calldata and return data as bytes', () => {
  let sandbox: Sandbox
  /** The same sandbox offering only the hex call, as a sandbox without `staticCallBytes` is called. */
  let hexOnly: Sandbox
  let app: Awaited<ReturnType<typeof loopApp>>
  /** The loop app's channel. */
  let made: ReturnType<typeof benchChannel>
  const channel = () => made
  before(async () => {
    sandbox = await createSandbox({ timeCapMs: 60_000 })
    hexOnly = { limits: sandbox.limits, staticCall: (r) => sandbox.staticCall(r) }
    app = await loopApp()
    const ctx = { chainId: 31337n, env: fixedEnv, third: testAddresses[2] as Address }
    made = benchChannel(
      app.app,
      app.bench,
      ctx,
      [testAddresses[0] as Address, testAddresses[1] as Address],
      3n,
    )
  })

  it('staticCallBytes gives the bytes of what staticCall gives for the same call', async () => {
    const echo: Hex = '0x365f5f37365ff3' // CALLDATACOPY all of the calldata to memory and RETURN it
    const reverting: Hex = '0x365f5f37365ffd' // the same, with REVERT
    const address: Address = '0x00000000000000000000000000000000000a4400'
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(echo, reverting),
        async (data, code) => {
          const want = await sandbox.staticCall({ address, code, data: bytesToHex(data), env: fixedEnv })
          const got = await sandbox.staticCallBytes!({ address, code, data, env: fixedEnv })
          if (want.ok) {
            assert.equal(got.ok, true)
            if (got.ok) assert.equal(bytesToHex(got.returnBytes), want.returnData)
            assert.equal(got.gasUsed, want.gasUsed)
          } else assert.deepEqual(got, want)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('the calldata as bytes is the bytes of the call viem encodes, or none when a part is not hex', () => {
    const { params, initial } = channel()
    const action = '0x1234' as Hex
    const bytes = encodeTransitionCallBytes(params, initial, 0n, action, fixedEnv)
    assert.ok(bytes !== undefined)
    assert.deepEqual(bytes, hexToBytes(encodeTransitionCall(params, initial, 0n, action, fixedEnv)))
    // viem writes a bytes32 without checking its digits: such params are left to the sandbox's check
    const odd: ChannelParams = { ...params, appCodeHash: `0x${'zz'.repeat(32)}` as Hex }
    assert.equal(encodeTransitionCallBytes(odd, initial, 0n, action, fixedEnv), undefined)
  })

  it('every step gives what it gives through the hex call: post-state, rejection or error', async () => {
    const { params, initial } = channel()
    const { app: module, bench } = app
    const ctx = { chainId: 31337n, env: fixedEnv, third: testAddresses[2] as Address }
    const base = {
      base: initial,
      channelId: initial.channelId,
      inputs: { answers: () => [], readings: () => [] },
    }
    const actions = bench.loop(ctx).map((a) => module.encodeAction(a.action, a.args, base))
    const { code, abi } = appCodeOf(module)
    const oddHash: ChannelParams = { ...params, appCodeHash: `0x${'zz'.repeat(32)}` as Hex }
    const action = fc.oneof(
      fc.constantFrom(...actions),
      fc.uint8Array({ maxLength: 100 }).map((b) => bytesToHex(b)),
      fc.constantFrom('0xzz', '0x123', 'nothex') as fc.Arbitrary<Hex>,
    )
    const from = fc.oneof(
      fc.constant(initial),
      fc
        .record({
          balances: fc.array(fc.bigInt({ min: 0n, max: 1000n }), { minLength: 1, maxLength: 3 }),
          appData: fc.uint8Array({ maxLength: 200 }).map((b) => bytesToHex(b)),
          isFinal: fc.boolean(),
        })
        .map((s): State => ({ ...initial, ...s })),
    )
    await fc.assert(
      fc.asyncProperty(
        action,
        from,
        fc.constantFrom(params, oddHash),
        fc.bigInt({ min: 0n, max: 2n }),
        async (a, s, p, mover) => {
          const req = { params: p, from: s, mover, action: a, env: fixedEnv, appCode: code, appAbi: abi }
          const want = await outcome(() => runTransition(hexOnly, req))
          const got = await outcome(() => runTransition(sandbox, req))
          assert.deepEqual(got, want)
        },
      ),
      { numRuns: 300 },
    )
    // The loop itself, step after step.
    let state: State = initial
    for (let i = 0; i < 20; i++) {
      const req = {
        params,
        from: state,
        mover: 0n,
        action: actions[i % actions.length]!,
        env: fixedEnv,
        appCode: code,
        appAbi: abi,
      }
      const want = await runTransition(hexOnly, req)
      const got = await runTransition(sandbox, req)
      assert.deepEqual(got, want)
      assert.equal(got.ok, true)
      if (got.ok) state = got.state
    }
  })
})
