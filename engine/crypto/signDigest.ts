import { bytesToHex, hexToBytes, type Hex } from 'viem'
import { secp256k1Backend } from './secp256k1Backend.ts'

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
  const d = typeof digest === 'string' ? hexToBytes(digest) : digest
  const k = typeof privateKey === 'string' ? hexToBytes(privateKey) : privateKey
  const { compact, recid } = secp256k1Backend.sign(d, k)
  const out = new Uint8Array(65)
  out.set(compact, 0)
  out[64] = 27 + recid
  return bytesToHex(out)
}
