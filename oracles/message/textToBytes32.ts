import { bytesToHex, type Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'

/** What `kind`, `unit` and text answers may hold: 1 to 32 printable ASCII characters. */
export const BYTES32_TEXT_PATTERN = '^[\\x21-\\x7e]{1,32}$'
const re = new RegExp(BYTES32_TEXT_PATTERN)

/**
 * Encodings already made, by text: readings carry a few kinds and units, and a verifier thread
 * converts two of them per reading. Bounded; cleared when full.
 */
const encoded = new Map<string, Hex>()
const MAX_ENCODED = 1_000

/**
 * Encodes short ASCII text (1 to 32 printable characters, no spaces) as bytes32, right-padded with
 * zero bytes, as `kind`, `unit` and text answers are signed. Throws `INVALID_ARGUMENT` otherwise.
 *
 * @example
 * ```ts
 * textToBytes32('mC') // 0x6d43000000…00
 * ```
 */
export function textToBytes32(text: string): Hex {
  const known = encoded.get(text)
  if (known !== undefined) return known
  if (!re.test(text))
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      `not 1-32 printable ASCII characters: ${JSON.stringify(text.slice(0, 40))}`,
    )
  const out = new Uint8Array(32)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  const hex = bytesToHex(out)
  if (encoded.size >= MAX_ENCODED) encoded.clear()
  encoded.set(text, hex)
  return hex
}
