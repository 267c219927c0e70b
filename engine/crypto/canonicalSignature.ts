import type { Hex } from 'viem'
import { strictHexToBytes } from './strictHexToBytes.ts'

/** Bytes of a secp256k1 signature `r || s || v`. */
export const SIGNATURE_BYTES = 65

/**
 * The canonical string of a 65-byte secp256k1 signature: `0x` and 130 lower-case hex digits.
 * Accepts `0x` and exactly 130 hex digits in either case (the same bytes) and returns them in
 * lower case; anything else (`0X`, no prefix, an odd or other length, a non-hex character, a
 * non-string) gives `undefined`. It checks the encoding only: {@link recoverDigestSigner} checks
 * the signature. Store and forward a received signature as this string, so that one signature has
 * one spelling in the store, in refusals and in transactions.
 *
 * @example
 * ```ts
 * const sig = canonicalSignature(message.sig)
 * if (sig === undefined) return refuse('malformed')
 * ```
 */
export function canonicalSignature(signature: unknown): Hex | undefined {
  if (strictHexToBytes(signature, SIGNATURE_BYTES) === undefined) return undefined
  return (signature as string).toLowerCase() as Hex
}
