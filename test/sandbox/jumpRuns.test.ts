// Code of several blocks joined by JUMP and JUMPI (loops, jumps into push data or past the end, a
// PUSH cut short at the code end), with runs of stack opcodes, memory words and other fixed-fee
// opcodes between them, on little gas: the sandbox's inline loop and its stack runs must give
// what the stock interpreter gives (outcome, bytes, gas), however a run is entered and left.
import fc from 'fast-check'
import type { Hex } from 'viem'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { STACK_OPCODES } from '../../engine/sandbox/stackOpcodes.ts'
import { fixedEnv } from '../support/channel.ts'
import { assertSame, stockCall } from '../support/stockEvm.ts'

const ADDRESS = '0x00000000000000000000000000000000000a4400'
const CAPS = [60n, 500n, 5_000n, 60_000n] as const

/** A program and its calldata from `seed` (a small linear congruential generator: the same seed, the same code). */
function program(seed: number): { code: Hex; data: Hex; cap: number } {
  let s = seed & 0x7fffffff
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return s / 0x80000000
  }
  const ri = (n: number) => Math.floor(rnd() * n)
  const pick = <T>(a: readonly T[]): T => a[ri(a.length)]!
  const hx = (v: bigint | number, bytes: number) =>
    BigInt(v)
      .toString(16)
      .padStart(bytes * 2, '0')
      .slice(-bytes * 2)
  const edges = [0n, 1n, 2n, 3n, 255n, 256n, (1n << 53n) - 1n, 1n << 53n, 1n << 255n, (1n << 256n) - 1n]
  const word = () => (rnd() < 0.5 ? pick(edges) : BigInt(ri(20)))
  const push = () => {
    const r = rnd()
    if (r < 0.15) return '5f'
    const n = r < 0.7 ? 1 : 1 + ri(32)
    return hx(0x5f + n, 1) + hx(word() & ((1n << BigInt(8 * n)) - 1n), n)
  }
  // The word operations, POP, JUMPDEST, DUP and SWAP (PUSH comes from `push`).
  const stack = STACK_OPCODES.filter((op) => op < 0x5f || op >= 0x80).map((op) => hx(op, 1))
  const other = [
    '58',
    '5a',
    '59',
    '36',
    '30',
    '33',
    '42',
    '43',
    '0a',
    '1a',
    '1d',
    '06',
    '07',
    '08',
    '09',
    '0b',
    '20',
  ]
  const memory = ['6000516000', '60005260', '602052', '6040515f']
  const bodies = Array.from({ length: 2 + ri(5) }, () => {
    const parts = ['5b']
    for (let i = ri(12); i > 0; i--) {
      const r = rnd()
      parts.push(r < 0.45 ? push() : r < 0.85 ? pick(stack) : r < 0.95 ? pick(other) : pick(memory))
    }
    return parts
  })
  // Each block ends in a JUMP or JUMPI to a block or any offset, a RETURN of the top word, or nothing.
  const ends = bodies.map(() => ri(6))
  const prefix = Array.from({ length: 8 + ri(24) }, push).join('')
  const cutShort = rnd() < 0.2 ? hx(0x60 + ri(32), 1) + 'ab' : ''
  const layout = (targets: number[]) => {
    let code = `6003565b${prefix}`
    const starts: number[] = []
    bodies.forEach((parts, b) => {
      starts.push(code.length / 2)
      code += parts.join('')
      const end = ends[b]!
      if (end <= 1) code += `61${hx(targets[b]!, 2)}56`
      else if (end <= 3) code += `61${hx(targets[b]!, 2)}57`
      else if (end === 4) code += '5f5260205ff3'
    })
    return { code: code + cutShort, starts }
  }
  const first = layout(bodies.map(() => 0))
  const targets = bodies.map(() => (rnd() < 0.8 ? pick(first.starts) : ri(first.code.length / 2 + 2)))
  return { code: `0x${layout(targets).code}`, data: `0x${hx(word(), 32)}`, cap: ri(CAPS.length) }
}

describe('sandbox: jumps in and out of stack runs, against the stock interpreter', function () {
  this.timeout(120_000)
  let sandboxes: Sandbox[]
  before(async () => {
    sandboxes = await Promise.all(CAPS.map((gasCap) => createSandbox({ gasCap, timeCapMs: 60_000 })))
  })

  it('loops, jumps into push data or past the end, little gas: the same outcome, bytes and gas', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0x7fffffff }), async (seed) => {
        const { code, data, cap } = program(seed)
        const got = await sandboxes[cap]!.staticCall({ address: ADDRESS, code, data, env: fixedEnv })
        assertSame(got, await stockCall(ADDRESS, code, data, CAPS[cap]!))
      }),
      { numRuns: 400 },
    )
  })
})
