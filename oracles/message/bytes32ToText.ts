import { hexToBytes, type Hex } from 'viem'

/**
 * Decodes bytes32 written by `textToBytes32` back to its text, or returns `undefined` when the
 * value is not printable ASCII right-padded with zero bytes.
 *
 * @example
 * ```ts
 * bytes32ToText(textToBytes32('temperature')) // 'temperature'
 * ```
 */
export function bytes32ToText(value: Hex): string | undefined {
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(value)
  } catch {
    return undefined
  }
  if (bytes.length !== 32) return undefined
  let end = bytes.indexOf(0)
  if (end === -1) end = 32
  if (end === 0) return undefined
  let text = ''
  for (let i = 0; i < 32; i++) {
    const b = bytes[i] ?? 0
    if (i < end) {
      if (b < 0x21 || b > 0x7e) return undefined
      text += String.fromCharCode(b)
    } else if (b !== 0) return undefined
  }
  return text
}
