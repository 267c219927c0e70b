import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createEVM, paramsEVM } from '@ethereumjs/evm'
import { Account, createAddressFromString, createZeroAddress } from '@ethereumjs/util'
import { bytesToHex, hexToBytes, type Address, type Hex } from 'viem'
import assert from 'node:assert/strict'
import type { StaticCallResult } from '../../engine/sandbox/createSandbox.ts'
import { fixedEnv } from './channel.ts'

const GAS = 5_000_000n

/**
 * A static call of `code` (held at `address`) with `data`, on the interpreter as the package ships
 * it (no custom opcodes, every step awaited), at {@link fixedEnv}'s block with 5,000,000 gas unless told: what
 * the sandbox's own opcodes are compared with. `gas` is both the call's gas and the block's gas
 * limit, as the sandbox's `gasCap` is.
 */
export async function stockCall(address: Address, code: Hex, data: Hex = '0x', gas: bigint = GAS) {
  const common = new Common({ chain: Mainnet, hardfork: Hardfork.Osaka, params: paramsEVM })
  const evm = await createEVM({ common })
  const to = createAddressFromString(address)
  await evm.stateManager.putAccount(to, new Account())
  await evm.stateManager.putCode(to, hexToBytes(code))
  const r = await evm.runCall({
    caller: createAddressFromString('0x000000000000000000000000000000000000c0de'),
    to,
    data: hexToBytes(data),
    gasLimit: gas,
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
        gasLimit: gas,
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

/** The sandbox's result must be the stock interpreter's: same outcome, same bytes, same gas. */
export function assertSame(got: StaticCallResult, want: Awaited<ReturnType<typeof stockCall>>) {
  assert.equal(got.gasUsed, want.gasUsed)
  if (want.error === undefined) {
    assert.equal(got.ok, true, got.ok ? '' : got.message)
    if (got.ok) assert.equal(got.returnData, want.returnData)
    return
  }
  assert.equal(got.ok, false, `want ${want.error}`)
  if (got.ok) return
  const failure =
    want.error === 'revert'
      ? 'revert'
      : want.error === 'out of gas'
        ? 'out-of-gas'
        : want.error === 'invalid opcode'
          ? 'invalid-opcode'
          : want.error === 'static state change'
            ? 'state-write'
            : 'evm-error'
  assert.equal(got.failure, failure, got.message)
  if (failure === 'revert') assert.equal(got.revertData, want.returnData)
  if (failure === 'evm-error') assert.match(got.message, new RegExp(want.error))
}
