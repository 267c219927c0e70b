import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, type Address, type Hex } from 'viem'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { encodeTransitionCall } from '../../engine/sandbox/encodeTransitionCall.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import { INLINE_EVM_VERSION, installInlineOpcodes } from '../../engine/sandbox/runOpcodesInline.ts'
import type { State } from '../../engine/channel/types.ts'
import { appCodeOf, benchChannel } from '../../bench/benchChannel.ts'
import { loopApp } from '../../bench/loopApp.ts'
import { fixedEnv, testAddresses } from '../support/channel.ts'
import { assertSame, stockCall } from '../support/stockEvm.ts'

const ADDRESS: Address = '0x00000000000000000000000000000000000a4400'

/** The same call on the interpreter as the package ships it. */
const reference = (code: Hex, data: Hex) => stockCall(ADDRESS, code, data)

const hex = (n: bigint, bytes: number) => n.toString(16).padStart(bytes * 2, '0')
const word = fc.oneof(
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }) },
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 300n }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, 31n, 32n, (1n << 256n) - 1n, 1n << 40n) },
)
const push = fc.oneof(
  word.map((w) => `7f${hex(w, 32)}`), // PUSH32
  fc.bigInt({ min: 0n, max: 255n }).map((w) => `60${hex(w, 1)}`), // PUSH1
)
/** One opcode after up to three pushes: arithmetic, stack, memory (sync and async gas), calldata, hashing, GAS. */
const piece = fc
  .tuple(
    fc.array(push, { maxLength: 3 }),
    fc.oneof(
      {
        weight: 60,
        arbitrary: fc.constantFrom(
          ...['01', '02', '03', '04', '0a', '10', '15', '16', '19', '1b'], // ADD MUL SUB DIV EXP LT ISZERO AND NOT SHL
          ...['50', '80', '81', '90'], // POP DUP1 DUP2 SWAP1
          ...['51', '52', '53', '59', '5e'], // MLOAD MSTORE MSTORE8 MSIZE MCOPY
          ...['20', '35', '36', '37', '5a'], // KECCAK256 CALLDATALOAD CALLDATASIZE CALLDATACOPY GAS
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom('fe', '54', '55') }, // INVALID SLOAD SSTORE (a write in a static call)
    ),
  )
  .map(([pushes, op]) => pushes.join('') + op)
/** Straight-line code on a stack of six words, then RETURN or REVERT of memory [0, 0x60). */
const program = fc
  .tuple(
    fc.array(push, { minLength: 6, maxLength: 6 }),
    fc.array(piece, { maxLength: 40 }),
    fc.constantFrom('f3', 'fd'),
  )
  .map(([stack, pieces, end]) => `0x${stack.join('')}${pieces.join('')}60606000${end}` as Hex)

describe('sandbox: opcodes run inline, with the stock interpreter’s results', () => {
  let sandbox: Sandbox
  before(async () => {
    sandbox = await createSandbox({ timeCapMs: 60_000 })
  })

  it('the installed @ethereumjs/evm is the release the inline loop follows, and the loop is on', async () => {
    // A new release fails here: compare its interpreter's runStep with the loop's step, then move
    // INLINE_EVM_VERSION (until then the sandbox takes the stock path).
    const pkg = JSON.parse(
      readFileSync(
        join(dirname(createRequire(import.meta.url).resolve('@ethereumjs/evm')), '..', '..', 'package.json'),
        'utf8',
      ),
    ) as { version: string }
    assert.equal(pkg.version, INLINE_EVM_VERSION)
    assert.equal(await installInlineOpcodes(), true)
  })

  it('random code gives the same return data, failure and gas as the stock interpreter', async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.uint8Array({ maxLength: 80 }), async (code, calldata) => {
        const data = bytesToHex(calldata)
        const want = await reference(code, data)
        const got = await sandbox.staticCall({ address: ADDRESS, code, data, env: fixedEnv })
        assertSame(got, want)
      }),
      { numRuns: 400 },
    )
  })

  it('calls to precompiles, to itself and to empty addresses give the stock interpreter’s results', async () => {
    // STATICCALL, CALL, CALLCODE and DELEGATECALL with bounded gas (so that calls of the code into
    // itself end), into ecrecover, sha256, identity, the code itself and an address without code;
    // their return data lands in the memory that the code returns.
    const small = (max: number) => fc.integer({ min: 0, max }).map((n) => `61${hex(BigInt(n), 2)}`) // PUSH2
    const target = fc.constantFrom('6001', '6002', '6004', '30', '61dead') // 1, 2, 4, ADDRESS, 0xdead
    const withValue = fc.constantFrom('f1', 'f2') // CALL, CALLCODE: value, then the target
    const noValue = fc.constantFrom('fa', 'f4') // STATICCALL, DELEGATECALL
    const call = fc.oneof(
      fc
        .tuple(small(0x40), small(0x40), small(0x60), small(0x40), target, small(20_000), noValue)
        .map(([retSize, retOffset, argsSize, argsOffset, to, gas, op]) =>
          [retSize, retOffset, argsSize, argsOffset, to, gas, op].join(''),
        ),
      fc
        .tuple(small(0x40), small(0x40), small(0x60), small(0x40), small(1), target, small(20_000), withValue)
        .map(([retSize, retOffset, argsSize, argsOffset, value, to, gas, op]) =>
          [retSize, retOffset, argsSize, argsOffset, value, to, gas, op].join(''),
        ),
    )
    const afterCall = fc.constantFrom('', '3d', '3d600060003e', '60206000603e') // RETURNDATASIZE, RETURNDATACOPY
    const calls = fc
      .tuple(
        fc.array(push, { minLength: 6, maxLength: 6 }),
        fc.array(
          fc.oneof(
            piece,
            fc.tuple(call, afterCall).map(([c, a]) => c + a),
          ),
          { maxLength: 12 },
        ),
        fc.constantFrom('f3', 'fd'),
      )
      .map(([stack, pieces, end]) => `0x${stack.join('')}${pieces.join('')}60606000${end}` as Hex)
    await fc.assert(
      fc.asyncProperty(calls, fc.uint8Array({ maxLength: 80 }), async (code, calldata) => {
        const data = bytesToHex(calldata)
        const want = await reference(code, data)
        const got = await sandbox.staticCall({ address: ADDRESS, code, data, env: fixedEnv })
        assertSame(got, want)
      }),
      { numRuns: 300 },
    )
  })

  it('calldata in either case or of odd length reaches the code as viem reads it; other text is refused', async () => {
    const echo: Hex = '0x365f5f37365ff3' // CALLDATACOPY all of the calldata to memory and RETURN it
    const upper = (s: string) => `0x${s.slice(2).toUpperCase()}` as Hex
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(
          upper,
          (s: string) => s as Hex,
          (s: string) => `0x${s.slice(3)}` as Hex,
        ),
        async (bytes, spell) => {
          const data = spell(bytesToHex(bytes))
          const want = await reference(echo, data)
          const got = await sandbox.staticCall({ address: ADDRESS, code: echo, data, env: fixedEnv })
          assertSame(got, want)
        },
      ),
      { numRuns: 200 },
    )
    const unprefixed = 'ab00' as Hex // viem drops the first two characters, whatever they are
    assertSame(
      await sandbox.staticCall({ address: ADDRESS, code: echo, data: unprefixed, env: fixedEnv }),
      await reference(echo, unprefixed),
    )
    // Characters above ASCII whose low byte is a hex digit ('\u0130' is 0x130: '0' to a decoder
    // that reads one byte per character) are not hex either.
    for (const data of [
      '0xzz',
      '0x00g0',
      '0x0g',
      '0x 1',
      '0x00zz00',
      '0x\u0130\u0131',
      '0xab\u0161b',
    ] as Hex[]) {
      await assert.rejects(reference(echo, data))
      await assert.rejects(sandbox.staticCall({ address: ADDRESS, code: echo, data, env: fixedEnv }))
    }
  })

  it('a loop with jumps and memory, and an offset too big to pay for, match the stock interpreter', async () => {
    // i = 200; do { mstore(i * 32 & 0xfff, i); i-- } while (i); return memory [0, 0x1000)
    const loop: Hex = '0x60c85b80602002610fff168181525060019003806002576110006000f3'
    const data = '0x' as Hex
    assertSame(
      await sandbox.staticCall({ address: ADDRESS, code: loop, data, env: fixedEnv }),
      await reference(loop, data),
    )
    const tooBig: Hex = `0x600164${hex(1n << 36n, 5)}5200`
    const want = await reference(tooBig, data)
    assert.equal(want.error, 'out of gas')
    assertSame(await sandbox.staticCall({ address: ADDRESS, code: tooBig, data, env: fixedEnv }), want)
  })

  it('the loop app’s steps give the stock interpreter’s post-state and gas', async () => {
    const { app, bench } = await loopApp()
    const ctx = { chainId: 31337n, env: fixedEnv, third: testAddresses[2] as Address }
    const ch = benchChannel(app, bench, ctx, [testAddresses[0] as Address, testAddresses[1] as Address], 7n)
    const base = {
      base: ch.initial,
      channelId: ch.channelId,
      inputs: { answers: () => [], readings: () => [] },
    }
    const actions = bench.loop(ctx).map((a) => app.encodeAction(a.action, a.args, base))
    const { code, abi } = appCodeOf(app)
    let from: State = ch.initial
    for (let i = 0; i < 12; i++) {
      const action = actions[i % actions.length] as Hex
      const data = encodeTransitionCall(ch.params, from, 0n, action, fixedEnv)
      const want = await reference(code, data)
      const got = await sandbox.staticCall({ address: ch.params.app, code, data, env: fixedEnv })
      assertSame(got, want)
      const step = await runTransition(sandbox, {
        params: ch.params,
        from,
        mover: 0n,
        action,
        env: fixedEnv,
        appCode: code,
        appAbi: abi,
      })
      assert.equal(step.ok, true)
      if (!step.ok) return
      from = step.state
    }
    assert.equal(from.version, ch.initial.version + 12n)
  })

  it('KECCAK256, CALLDATACOPY, MCOPY and RETURN run without a turn of the microtask queue each, with the stock results', async () => {
    // 200 times: KECCAK256 of [0, 0x40), CALLDATACOPY of 4 bytes to 0x40, MCOPY of 0x20 bytes
    // from 0 to 0x60; then RETURN of [0, 0x80)
    const piece = '604060002050' + '60046000604037' + '6020600060605e'
    const code = `0x${piece.repeat(200)}60806000f3` as Hex
    const data = '0x01020304' as Hex
    const { r, turns } = await countTurns(() =>
      sandbox.staticCall({ address: ADDRESS, code, data, env: fixedEnv }),
    )
    assertSame(r, await reference(code, data))
    assert.equal(r.ok, true)
    assert.ok(turns < 100, `${turns} microtask turns during a call of 600 copies and hashes`)
  })

  it('a call runs its opcodes without a turn of the microtask queue for each', async () => {
    // 3,000 opcodes: PUSH1 1, POP, 1,500 times, then STOP
    const code = `0x${'600150'.repeat(1500)}00` as Hex
    const { r, turns } = await countTurns(() =>
      sandbox.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv }),
    )
    assert.equal(r.ok, true)
    assert.equal(r.gasUsed, 1500n * 5n)
    assert.ok(turns < 200, `${turns} microtask turns during a call of 3,000 opcodes`)
  })
})

/** `run`'s result and the turns of the microtask queue taken while it ran. */
async function countTurns<T>(run: () => Promise<T>): Promise<{ r: T; turns: number }> {
  let turns = 0
  let running = true
  const tick = () => {
    turns++
    if (running) queueMicrotask(tick)
  }
  queueMicrotask(tick)
  const r = await run()
  running = false
  return { r, turns }
}
