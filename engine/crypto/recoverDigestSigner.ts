import { bytesToHex, hexToBytes, keccak256, type Address, type Hex } from 'viem'
import { secp256k1Backend } from './secp256k1Backend.ts'

/** Half the secp256k1 group order: a signature's s must not exceed it. */
export const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

export type SignatureVerdict =
  | { ok: true; signer: Address }
  | { ok: false; reason: 'length' | 'v' | 'high-s' | 'invalid' }

/**
 * Recovers the signer of a digest under the rules the Solidity `Sig` library applies: exactly 65
 * bytes, v in {27, 28}, s at most half the order, a recoverable non-zero signer. Returns a verdict,
 * never throws on a bad signature.
 *
 * @example
 * ```ts
 * const v = recoverDigestSigner(digest, sig)
 * if (v.ok && v.signer === expected) accept()
 * ```
 */
export function recoverDigestSigner(digest: Hex | Uint8Array, signature: Hex | Uint8Array): SignatureVerdict {
  let sig: Uint8Array
  try {
    sig = typeof signature === 'string' ? hexToBytes(signature) : signature
  } catch {
    return { ok: false, reason: 'length' }
  }
  if (sig.length !== 65) return { ok: false, reason: 'length' }
  const v = sig[64] ?? 0
  if (v !== 27 && v !== 28) return { ok: false, reason: 'v' }
  let s = 0n
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i] ?? 0)
  if (s > SECP256K1_HALF_N) return { ok: false, reason: 'high-s' }
  const d = typeof digest === 'string' ? hexToBytes(digest) : digest
  const pub = secp256k1Backend.recover(d, sig.subarray(0, 64), v - 27)
  if (pub === undefined) return { ok: false, reason: 'invalid' }
  const addr = keccak256(pub.subarray(1), 'bytes').subarray(12)
  if (addr.every((b) => b === 0)) return { ok: false, reason: 'invalid' }
  return { ok: true, signer: toChecksumless(addr) }
}

function toChecksumless(addr: Uint8Array): Address {
  return bytesToHex(addr) as Address
}
