import { bytesToHex, decodeFunctionResult, type Hex } from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/

/**
 * The `(bytes appData, uint256[] balances, bool isFinal)` that `IApp.transition` returned, as
 * viem's `decodeFunctionResult` gives it, throwing what it throws. Return data laid out plainly
 * (offsets and lengths inside the data, a bool of 0 or 1) is read directly; anything else goes to
 * viem.
 *
 * @example
 * ```ts
 * const [appData, balances, isFinal] = decodeTransitionResult(returnData)
 * ```
 */
export function decodeTransitionResult(data: Hex): readonly [Hex, readonly bigint[], boolean] {
  const fast = read(data)
  if (fast !== undefined) return fast
  return decodeFunctionResult({ abi: IApp.abi, functionName: 'transition', data })
}

/** The direct reading, or undefined when the data is not laid out plainly. */
function read(data: Hex): readonly [Hex, readonly bigint[], boolean] | undefined {
  if (typeof data !== 'string' || !HEX.test(data)) return undefined
  const body = data.slice(2)
  const size = body.length / 2
  if (size < 96) return undefined
  const at = (byte: number) => BigInt(`0x${body.slice(byte * 2, byte * 2 + 64)}`)
  const small = (v: bigint, max: number) => (v <= BigInt(max) ? Number(v) : undefined)
  const appDataAt = small(at(0), size - 32)
  const balancesAt = small(at(32), size - 32)
  const flag = at(64)
  if (appDataAt === undefined || balancesAt === undefined || (flag !== 0n && flag !== 1n)) return undefined
  const appDataLength = small(at(appDataAt), size - appDataAt - 32)
  const count = small(at(balancesAt), Math.floor((size - balancesAt - 32) / 32))
  if (appDataLength === undefined || count === undefined) return undefined
  const start = (appDataAt + 32) * 2
  const appData = `0x${body.slice(start, start + appDataLength * 2).toLowerCase()}` as Hex
  const balances: bigint[] = []
  for (let i = 0; i < count; i++) balances.push(at(balancesAt + 32 + i * 32))
  return [appData, balances, flag === 1n]
}

/**
 * {@link decodeTransitionResult} of the return data as bytes: the same values and the same errors
 * (data not laid out plainly goes to viem as hex), without the data as hex in between.
 */
export function decodeTransitionResultBytes(data: Uint8Array): readonly [Hex, readonly bigint[], boolean] {
  const fast = readBytes(data)
  if (fast !== undefined) return fast
  return decodeFunctionResult({ abi: IApp.abi, functionName: 'transition', data: bytesToHex(data) })
}

const TWO_POW32 = 4294967296

/** {@link read} of bytes. */
function readBytes(data: Uint8Array): readonly [Hex, readonly bigint[], boolean] | undefined {
  const size = data.length
  if (size < 96) return undefined
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  /** The word at `at` as a number when it is at most `max` (below 2^53), else undefined. */
  const small = (at: number, max: number) => {
    for (let i = at; i < at + 24; i++) if (data[i] !== 0) return undefined
    const high = view.getUint32(at + 24)
    if (high >= 0x200000) return undefined
    const v = high * TWO_POW32 + view.getUint32(at + 28)
    return v <= max ? v : undefined
  }
  const word = (at: number) =>
    (view.getBigUint64(at) << 192n) |
    (view.getBigUint64(at + 8) << 128n) |
    (view.getBigUint64(at + 16) << 64n) |
    view.getBigUint64(at + 24)
  const appDataAt = small(0, size - 32)
  const balancesAt = small(32, size - 32)
  const flag = small(64, 1)
  if (appDataAt === undefined || balancesAt === undefined || flag === undefined) return undefined
  const appDataLength = small(appDataAt, size - appDataAt - 32)
  const count = small(balancesAt, Math.floor((size - balancesAt - 32) / 32))
  if (appDataLength === undefined || count === undefined) return undefined
  const start = data.byteOffset + appDataAt + 32
  const appData = `0x${Buffer.from(data.buffer, start, appDataLength).toString('hex')}` as Hex
  const balances: bigint[] = []
  for (let i = 0; i < count; i++) balances.push(word(balancesAt + 32 + i * 32))
  return [appData, balances, flag === 1]
}
