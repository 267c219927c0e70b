/** Value of each hex digit by char code (either case), -1 for anything else. */
const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) DIGIT[48 + i] = i
for (let i = 0; i < 6; i++) {
  DIGIT[65 + i] = 10 + i
  DIGIT[97 + i] = 10 + i
}

/**
 * Decodes `0x` followed by an even number of hex digits (either case) into bytes, and returns
 * `undefined` for anything else: another prefix (`0X`, `zz`, none), an odd number of digits, any
 * other character, a value that is not a string, or (when `length` is given) another byte length.
 * Unlike viem's `hexToBytes`, which skips the first two characters unchecked and pads odd lengths,
 * a string decodes here only when it spells exactly one byte string.
 *
 * @example
 * ```ts
 * strictHexToBytes('0x00ff') // Uint8Array [0, 255]
 * strictHexToBytes('0X00ff') // undefined
 * ```
 */
export function strictHexToBytes(value: unknown, length?: number): Uint8Array | undefined {
  if (
    typeof value !== 'string' ||
    value.length % 2 !== 0 ||
    value.charCodeAt(0) !== 48 ||
    value.charCodeAt(1) !== 120
  ) {
    return undefined
  }
  const n = (value.length - 2) >> 1
  if (length !== undefined && n !== length) return undefined
  const out = new Uint8Array(n)
  for (let i = 0, j = 2; i < n; i++, j += 2) {
    const hi = DIGIT[value.charCodeAt(j)] ?? -1
    const lo = DIGIT[value.charCodeAt(j + 1)] ?? -1
    if (hi < 0 || lo < 0) return undefined
    out[i] = (hi << 4) | lo
  }
  return out
}
