import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, type Address, type Hex } from 'viem'
import { createSandbox, type Sandbox, type StaticCallResult } from '../../engine/sandbox/createSandbox.ts'
import { fixedEnv } from '../support/channel.ts'
import { assertSame, stockCall } from '../support/stockEvm.ts'

const ADDRESS: Address = '0x00000000000000000000000000000000000a4400'

const hex = (n: bigint | number, bytes: number) =>
  BigInt(n)
    .toString(16)
    .padStart(bytes * 2, '0')
/** PUSH1 3, JUMP, JUMPDEST: the interpreter analyses the code's jumps at the JUMP, before the rest runs. */
const JUMP_FIRST = '6003565b'
const word = fc.oneof(
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }) },
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 300n }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(0n, 1n, 255n, 256n, 257n, (1n << 255n) - 1n, 1n << 255n, (1n << 256n) - 1n),
  },
)
/** PUSH32 of a word, PUSH1-PUSH32 of a word cut to the width, or PUSH0. */
const push = fc.oneof(
  word.map((w) => `7f${hex(w, 32)}`),
  fc
    .tuple(fc.integer({ min: 1, max: 32 }), word)
    .map(([n, w]) => `${hex(0x5f + n, 1)}${hex(w & ((1n << BigInt(8 * n)) - 1n), n)}`),
  fc.constant('5f'),
)
const STACK_OPS = [
  ...['01', '02', '03', '04', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '1b', '1c'],
  ...['50', '5b'],
  ...Array.from({ length: 32 }, (_, i) => hex(0x80 + i, 1)), // DUP1-DUP16, SWAP1-SWAP16
]
/** One stack opcode, or now and then an opcode the loop leaves to the interpreter's step. */
const piece = fc
  .tuple(
    fc.array(push, { maxLength: 3 }),
    fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...STACK_OPS) },
      { weight: 1, arbitrary: fc.constantFrom('51', '52', '59', '5a', '35', '0a', '1a', '1d', 'fe') },
    ),
  )
  .map(([pushes, op]) => pushes.join('') + op)
/**
 * After the jump, a stack of up to twenty words, stack opcodes (which underflow now and then), then
 * the top six words stored and RETURN or REVERT of them; or code that ends in a PUSH cut short.
 */
const program = fc
  .tuple(
    fc.array(push, { minLength: 0, maxLength: 20 }),
    fc.array(piece, { maxLength: 40 }),
    fc.oneof(
      fc.constantFrom('f3', 'fd').map((end) => `${'60005260205260405260605260805260a052'}60c06000${end}`),
      fc.integer({ min: 0, max: 31 }).map((n) => `7f${'ab'.repeat(n)}`),
    ),
  )
  .map(([stack, pieces, end]) => `0x${JUMP_FIRST}${stack.join('')}${pieces.join('')}${end}` as Hex)

describe('sandbox: stack opcodes run in the loop, with the stock interpreter’s results', () => {
  let sandbox: Sandbox
  const small: { gas: bigint; sandbox: Sandbox }[] = []
  before(async () => {
    sandbox = await createSandbox({ timeCapMs: 60_000 })
    for (const gas of [13n, 40n, 77n, 150n, 333n])
      small.push({ gas, sandbox: await createSandbox({ gasCap: gas, timeCapMs: 60_000 }) })
  })

  it('random stack code after a jump gives the same return data, failure and gas as the stock interpreter', async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.uint8Array({ maxLength: 40 }), async (code, calldata) => {
        const data = bytesToHex(calldata)
        assertSame(
          await sandbox.staticCall({ address: ADDRESS, code, data, env: fixedEnv }),
          await stockCall(ADDRESS, code, data),
        )
      }),
      { numRuns: 500 },
    )
  })

  it('with more gas than 2^53 (counted in bigints) random stack code gives the stock results', async () => {
    const huge = (1n << 60n) + 7n
    const big = await createSandbox({ gasCap: huge, timeCapMs: 60_000 })
    await fc.assert(
      fc.asyncProperty(program, fc.uint8Array({ maxLength: 40 }), async (code, calldata) => {
        const data = bytesToHex(calldata)
        assertSame(
          await big.staticCall({ address: ADDRESS, code, data, env: fixedEnv }),
          await stockCall(ADDRESS, code, data, huge),
        )
      }),
      { numRuns: 100 },
    )
  })

  it('each word operation gives the stock result on every pair of edge words', async () => {
    const edges = [
      0n,
      1n,
      2n,
      255n,
      256n,
      257n,
      (1n << 255n) - 1n,
      1n << 255n,
      (1n << 256n) - 2n,
      (1n << 256n) - 1n,
    ]
    for (const op of [
      '01',
      '02',
      '03',
      '04',
      '10',
      '11',
      '12',
      '13',
      '14',
      '15',
      '16',
      '17',
      '18',
      '19',
      '1b',
      '1c',
    ]) {
      // For each pair (PUSH32 b, PUSH32 a, op): whether the result is below 0 (PUSH0, DUP2, LT) and
      // whether it is above 2^256 - 1 (DUP1, PUSH32 2^256 - 1, LT), each stored, then the result
      // stored; MSTORE alone would keep only the low 256 bits of a result out of range.
      let body = ''
      let at = 0
      for (const a of edges)
        for (const b of edges) {
          body += `7f${hex(b, 32)}7f${hex(a, 32)}${op}`
          body += `5f8110${'61'}${hex(at, 2)}52`
          body += `807f${'ff'.repeat(32)}10${'61'}${hex(at + 32, 2)}52`
          body += `61${hex(at + 64, 2)}52`
          at += 96
        }
      const code = `0x${JUMP_FIRST}${body}61${hex(at, 2)}5ff3` as Hex
      const got = await sandbox.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv })
      assert.equal(got.ok, true, `opcode ${op}`)
      assertSame(got, await stockCall(ADDRESS, code))
    }
  })

  it('words either side of 2^53 and 2^256 - 1 go through memory and calldata as in the stock interpreter', async () => {
    const edges = [0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n]
    const words = [...edges, ...edges.map((w) => (1n << 256n) - 1n - w), 1n << 192n, 1n << 200n]
    const data = `0x${words.map((w) => hex(w, 32)).join('')}` as Hex
    // Each word: CALLDATALOAD at its offset, and at its offset + 7 (across two words), MSTORE
    // both at growing, unaligned offsets; MLOAD at offsets across the stored words, each stored
    // again; then all of memory returned.
    let body = ''
    let at = 0
    for (let i = 0; i < words.length; i++) {
      for (const shift of [0, 7]) {
        body += `61${hex(i * 32 + shift, 2)}3561${hex(at, 2)}52`
        at += 32 + 5
      }
    }
    const stored = at
    for (let from = 0; from < stored; from += 13) {
      body += `61${hex(from, 2)}5161${hex(at, 2)}52`
      at += 32
    }
    const code = `0x${JUMP_FIRST}${body}61${hex(at, 2)}5ff3` as Hex
    const got = await sandbox.staticCall({ address: ADDRESS, code, data, env: fixedEnv })
    assert.equal(got.ok, true)
    assertSame(got, await stockCall(ADDRESS, code, data))
  })

  it('runs out of gas at the same opcode as the stock interpreter, with little gas', async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.integer({ min: 0, max: 4 }), async (code, which) => {
        const { gas, sandbox: capped } = small[which]!
        assertSame(
          await capped.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv }),
          await stockCall(ADDRESS, code, '0x', gas),
        )
      }),
      { numRuns: 300 },
    )
  })

  it('a stack of more than 1,024 words is a stack overflow, from PUSH0, PUSH1 and DUP1 alike', async () => {
    for (const last of ['5f', '6001', '80']) {
      const code = `0x${JUMP_FIRST}${'5f'.repeat(1024)}${last}00` as Hex
      const want = await stockCall(ADDRESS, code)
      assert.equal(want.error, 'stack overflow')
      assertSame(await sandbox.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv }), want)
      // 1,024 words are allowed
      const full = `0x${JUMP_FIRST}${'5f'.repeat(1023)}${last}00` as Hex
      const fine = await sandbox.staticCall({ address: ADDRESS, code: full, data: '0x', env: fixedEnv })
      assertSame(fine, await stockCall(ADDRESS, full))
      assert.equal(fine.ok, true)
    }
  })

  it('after the jump analysis, stack opcodes do not go through the stack’s methods', async () => {
    // The interpreter's Stack class, as its interpreter module loads it.
    const esm = join(dirname(createRequire(import.meta.url).resolve('@ethereumjs/evm')), '..', 'esm')
    const { Stack } = (await import(pathToFileURL(join(esm, 'stack.js')).href)) as {
      Stack: { prototype: Record<string, (...args: unknown[]) => unknown> }
    }
    const methods = ['push', 'pop', 'popN', 'dup', 'swap'] as const
    const stock = methods.map((m) => Stack.prototype[m]!)
    /** How many times `run` calls the stack's methods. */
    const counted = async (run: () => Promise<unknown>) => {
      let calls = 0
      for (const [i, m] of methods.entries())
        Stack.prototype[m] = function (this: unknown, ...args: unknown[]) {
          calls++
          return stock[i]!.apply(this, args)
        }
      try {
        await run()
      } finally {
        for (const [i, m] of methods.entries()) Stack.prototype[m] = stock[i]!
      }
      return calls
    }
    // 4,000 opcodes: PUSH1 1, PUSH1 2, ADD, DUP1, SWAP1, POP, ISZERO, POP, 500 times, then STOP
    const code = `0x${JUMP_FIRST}${'60016002018090501550'.repeat(500)}00` as Hex
    let got: StaticCallResult | undefined
    const inSandbox = await counted(async () => {
      got = await sandbox.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv })
    })
    const inStock = await counted(() => stockCall(ADDRESS, code))
    assertSame(got!, await stockCall(ADDRESS, code))
    assert.ok(inStock >= 4000, `the stock interpreter called the stack's methods ${inStock} times`)
    assert.ok(inSandbox < 20, `the sandbox called the stack's methods ${inSandbox} times`)
  })
})
