import assert from 'node:assert/strict'
import { decodeAbiParameters, keccak256, type Hex } from 'viem'
import { SandboxProbe } from '../../contracts/generated/SandboxProbe.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition, type StepResult } from '../../engine/sandbox/runTransition.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { escrowChannel, fixedEnv } from '../support/channel.ts'

const probeHash = keccak256(SandboxProbe.deployedBytecode)

describe('sandbox: caps and failures are rejected steps, never crashes', () => {
  let sandbox: Sandbox
  const { params: escrowParams, initial } = escrowChannel()
  const params: ChannelParams = { ...escrowParams, appCodeHash: probeHash }
  const from: State = initial
  const step = (mode: number, sb: Sandbox = sandbox, p: ChannelParams = params): Promise<StepResult> =>
    runTransition(sb, {
      params: p,
      from,
      mover: 0n,
      action: `0x${mode.toString(16).padStart(2, '0')}`,
      env: fixedEnv,
      appCode: SandboxProbe.deployedBytecode,
    })

  before(async () => {
    // The default caps but the wall-clock one: on a loaded machine the 5,000,000 gas of the endless
    // loop can take longer than the default second, and the row tests the gas cap, not the time.
    sandbox = await createSandbox({ timeCapMs: 60_000 })
  })

  // The sandbox must still work after every failure: each row is followed by a good step.
  afterEach(async () => {
    const ok = await step(9)
    assert.equal(ok.ok, true, 'the sandbox keeps working after a rejected step')
  })

  const table: { name: string; mode: number; reason: string; message: RegExp }[] = [
    {
      name: 'an endless loop runs out of the gas cap',
      mode: 0,
      reason: 'out-of-gas',
      message: /out of gas \(cap 5000000\)/,
    },
    {
      name: 'a huge return breaks the returndata cap',
      mode: 1,
      reason: 'returndata-cap',
      message: /200000 bytes exceeds the cap of 65536/,
    },
    {
      name: 'a call to an address with no code reverts and names the address',
      mode: 2,
      reason: 'revert',
      message: /0x000000000000000000000000000000000000dead/,
    },
    { name: 'an attempt to write state is refused', mode: 3, reason: 'state-write', message: /write state/ },
    { name: 'an invalid opcode', mode: 4, reason: 'invalid-opcode', message: /invalid opcode/ },
    {
      name: 'balances that do not sum to the channel total',
      mode: 5,
      reason: 'conservation',
      message: /sum to 1001, the channel holds 1000/,
    },
    { name: 'one balance too many', mode: 6, reason: 'bad-output', message: /3 balances for 2 participants/ },
  ]
  for (const row of table) {
    it(row.name, async () => {
      const r = await step(row.mode)
      assert.equal(r.ok, false)
      if (r.ok) return
      assert.equal(r.reason, row.reason)
      assert.match(r.message, row.message)
    })
  }

  it('an endless loop under a huge gas cap is stopped by the wall-clock cap', async () => {
    const sb = await createSandbox({ gasCap: 10n ** 12n, timeCapMs: 150 })
    const r = await step(8, sb)
    assert.equal(r.ok, false)
    if (!r.ok) assert.equal(r.reason, 'time-cap')
    assert.equal((await step(9, sb)).ok, true)
  })

  it('calldata over the cap is refused before the EVM runs', async () => {
    const sb = await createSandbox({ maxCalldataBytes: 512 })
    const r = await runTransition(sb, {
      params,
      from: { ...from, appData: `0x${'ab'.repeat(600)}` },
      mover: 0n,
      action: '0x09',
      env: fixedEnv,
      appCode: SandboxProbe.deployedBytecode,
    })
    assert.equal(r.ok, false)
    if (!r.ok) assert.equal(r.reason, 'calldata-cap')
  })

  it('code whose hash is not the channel appCodeHash is refused', async () => {
    const r = await step(9, sandbox, { ...params, appCodeHash: escrowApp.codeHash })
    assert.equal(r.ok, false)
    if (!r.ok) assert.equal(r.reason, 'code-hash-mismatch')
  })

  it('time comes from env only: block.timestamp and block.number are the env values', async () => {
    const r = await step(7)
    assert.equal(r.ok, true)
    if (!r.ok) return
    const [ts, bn] = decodeAbiParameters(
      [{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
      r.state.appData as Hex,
    )
    assert.equal(ts, fixedEnv.timestamp)
    assert.equal(bn, fixedEnv.blockNumber)
  })

  it('each call runs at its own env: a later call with another block and time sees those', async () => {
    const read = async (env: typeof fixedEnv) => {
      const r = await runTransition(sandbox, {
        params,
        from,
        mover: 0n,
        action: '0x07',
        env,
        appCode: SandboxProbe.deployedBytecode,
      })
      assert.equal(r.ok, true)
      if (!r.ok) return []
      return decodeAbiParameters(
        [{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
        r.state.appData as Hex,
      ).slice(0, 2)
    }
    const later = { blockNumber: fixedEnv.blockNumber + 5n, timestamp: fixedEnv.timestamp + 777n }
    assert.deepEqual(await read(fixedEnv), [fixedEnv.timestamp, fixedEnv.blockNumber])
    assert.deepEqual(await read(later), [later.timestamp, later.blockNumber])
    assert.deepEqual(await read(fixedEnv), [fixedEnv.timestamp, fixedEnv.blockNumber])
  })

  it('the same step twice gives the same post-state, byte for byte', async () => {
    const a = await step(9)
    const b = await step(9)
    assert.deepEqual(a, b)
  })
})
