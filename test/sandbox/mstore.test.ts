import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createEVM, paramsEVM } from '@ethereumjs/evm'
import { Account, createAddressFromString, createZeroAddress } from '@ethereumjs/util'
import { bytesToHex, type Address, type Hex } from 'viem'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { fixedEnv } from '../support/channel.ts'

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

/** The same call on the interpreter as the package ships it: no custom opcodes. */
async function reference(code: Hex) {
  const common = new Common({ chain: Mainnet, hardfork: Hardfork.Osaka, params: paramsEVM })
  const evm = await createEVM({ common })
  const to = createAddressFromString(ADDRESS)
  await evm.stateManager.putAccount(to, new Account())
  await evm.stateManager.putCode(to, Uint8Array.from(Buffer.from(code.slice(2), 'hex')))
  const r = await evm.runCall({
    caller: createAddressFromString('0x000000000000000000000000000000000000c0de'),
    to,
    data: new Uint8Array(0),
    gasLimit: 5_000_000n,
    isStatic: true,
    skipNonceIncrement: true,
    skipBalance: true,
    block: {
      header: {
        number: fixedEnv.blockNumber,
        coinbase: createZeroAddress(),
        timestamp: fixedEnv.timestamp,
        difficulty: 0n,
        prevRandao: new Uint8Array(32),
        gasLimit: 5_000_000n,
        baseFeePerGas: 0n,
        slotNumber: 0n,
        getBlobGasPrice: () => 0n,
      },
    } as never,
  })
  const e = r.execResult
  return {
    error: e.exceptionError?.error,
    returnData: bytesToHex(e.returnValue),
    gasUsed: e.executionGasUsed,
  }
}

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
