import { hexToBytes, type Hex } from 'viem'
import { secp256k1Backend } from './secp256k1Backend.ts'
import { strictHexToBytes } from './strictHexToBytes.ts'

/** `value` as bytes: a 0x string of hex digits read directly, anything else as viem reads it. */
const bytesOf = (value: Hex | Uint8Array, length: number): Uint8Array =>
  typeof value !== 'string' ? value : (strictHexToBytes(value, length) ?? hexToBytes(value))

/**
 * Signs a 32-byte digest with a secp256k1 private key: 65 bytes `r || s || v`, low s, v in {27, 28}.
 * Uses native libsecp256k1 when it loads.
 *
 * @example
 * ```ts
 * const sig = signDigest(keccak256('0x01'), privateKey)
 * ```
 */
export function signDigest(digest: Hex | Uint8Array, privateKey: Hex | Uint8Array): Hex {
  const { compact, recid } = secp256k1Backend.sign(bytesOf(digest, 32), bytesOf(privateKey, 32))
  const out = Buffer.allocUnsafe(65)
  out.set(compact, 0)
  out[64] = 27 + recid
  return `0x${out.toString('hex')}`
}
