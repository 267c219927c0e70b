import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Address, Hex } from 'viem'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { fixedEnv } from '../support/channel.ts'
import { stockCall } from '../support/stockEvm.ts'

const ADDRESS: Address = '0x00000000000000000000000000000000000a4400'
const hex = (n: bigint, bytes: number) => n.toString(16).padStart(bytes * 2, '0')

/** Code that stores each word at its offset (PUSH32 word, PUSH5 offset, MSTORE), then returns MSIZE and memory [0, 4096). */
function program(stores: { word: bigint; offset: bigint }[]): Hex {
  let code = ''
  for (const { word, offset } of stores) code += `7f${hex(word, 32)}64${hex(offset, 5)}52`
  // MSIZE, PUSH2 0x1000, MSTORE (memory past the stores holds the size), then RETURN [0, 0x1020)
  code += '5961100052' + '611020' + '6000' + 'f3'
  return `0x${code}`
}

/** The same call on the interpreter as the package ships it. */
const reference = (code: Hex) => stockCall(ADDRESS, code)

describe('sandbox: its MSTORE is the interpreter’s', () => {
  let sandbox: Sandbox
  before(async () => {
    sandbox = await createSandbox({ timeCapMs: 60_000 })
  })

  it('writes the same bytes, grows memory the same and charges the same gas as the stock MSTORE', async () => {
    const word = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
      fc.constantFrom(0n, 1n, 0xffn, (1n << 64n) - 1n, 1n << 64n, (1n << 256n) - 1n),
    )
    const offset = fc.oneof(fc.bigInt({ min: 0n, max: 4064n }), fc.constantFrom(0n, 31n, 32n, 33n, 4064n))
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ word, offset }), { minLength: 1, maxLength: 12 }),
        async (stores) => {
          const code = program(stores)
          const want = await reference(code)
          const got = await sandbox.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv })
          assert.equal(want.error, undefined)
          assert.equal(got.ok, true)
          if (!got.ok) return
          assert.equal(got.returnData, want.returnData)
          assert.equal(got.gasUsed, want.gasUsed)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('an offset beyond what the gas pays for is out of gas, as with the stock MSTORE', async () => {
    const code = program([{ word: 1n, offset: 1n << 36n }])
    const want = await reference(code)
    const got = await sandbox.staticCall({ address: ADDRESS, code, data: '0x', env: fixedEnv })
    assert.equal(want.error, 'out of gas')
    assert.equal(got.ok, false)
    if (!got.ok) assert.equal(got.failure, 'out-of-gas')
  })
})
