import { decodeFunctionResult, type Hex } from 'viem'
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
