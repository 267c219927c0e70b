import { decodeErrorResult, type Abi, type Hex } from 'viem'

export type DecodedRevert = { name: string; args: readonly unknown[]; text: string }

/**
 * Decodes revert data: `Error(string)`, `Panic(uint256)` or a custom error of `abi`. Returns
 * `undefined` for empty or unknown data; never throws.
 *
 * @example
 * ```ts
 * decodeRevert(Escrow.abi, '0x…')?.text // 'Overspend(100, 50)'
 * ```
 */
export function decodeRevert(abi: Abi | undefined, data: Hex | undefined): DecodedRevert | undefined {
  if (data === undefined || data.length < 10) return undefined
  try {
    const r = decodeErrorResult({ abi: abi ?? [], data })
    const args = (r.args ?? []) as readonly unknown[]
    const name = r.errorName
    const text =
      name === 'Error'
        ? String(args[0])
        : `${name}(${args.map((a) => (typeof a === 'bigint' ? a.toString() : JSON.stringify(a))).join(', ')})`
    return { name, args, text }
  } catch {
    return undefined
  }
}
