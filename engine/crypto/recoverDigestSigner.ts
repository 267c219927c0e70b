import type { Address, Hex } from 'viem'
import { keccak256Bytes } from './keccak256Bytes.ts'
import { secp256k1Backend } from './secp256k1Backend.ts'
import { strictHexToBytes } from './strictHexToBytes.ts'

/** Half the secp256k1 group order: a signature's s must not exceed it. */
export const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

/**
 * Why a signature was refused. `encoding`: not `0x` followed by hex digits (a string that no
 * transaction could carry as these bytes); the others are the Solidity `Sig` library's errors:
 * `length` BadSignatureLength, `v` BadSignatureV, `high-s` HighS, `invalid` InvalidSignature.
 */
/** {@link SECP256K1_HALF_N} as 32 big-endian bytes. */
const HALF_N_BYTES = Buffer.from(SECP256K1_HALF_N.toString(16).padStart(64, '0'), 'hex')

/** Whether the s of a 65-byte signature (bytes 32 to 63, big-endian) is above half the curve order. */
const isHighS = (sig: Uint8Array): boolean =>
  Buffer.compare(Buffer.from(sig.buffer, sig.byteOffset + 32, 32), HALF_N_BYTES) > 0

export type SignatureRejection = 'encoding' | 'length' | 'v' | 'high-s' | 'invalid'

export type SignatureVerdict = { ok: true; signer: Address } | { ok: false; reason: SignatureRejection }

/**
 * Recovers the signer of a digest under the rules the Solidity `Sig` library applies, after a
 * strict encoding check: a string must be `0x` and hex digits of either case (else `encoding`;
 * viem's `hexToBytes` would drop the first two characters unchecked), then exactly 65 bytes,
 * v in {27, 28}, s at most half the order, a recoverable non-zero signer. A digest that is not 32
 * bytes of such hex is `invalid`. Returns a verdict, never throws on bad input. Store the
 * signature as {@link canonicalSignature} gives it.
 *
 * @example
 * ```ts
 * const v = recoverDigestSigner(digest, sig)
 * if (v.ok && v.signer === expected) accept(canonicalSignature(sig))
 * ```
 */
export function recoverDigestSigner(digest: Hex | Uint8Array, signature: Hex | Uint8Array): SignatureVerdict {
  const sig = signature instanceof Uint8Array ? signature : strictHexToBytes(signature)
  if (sig === undefined) return { ok: false, reason: 'encoding' }
  if (sig.length !== 65) return { ok: false, reason: 'length' }
  const v = sig[64] ?? 0
  if (v !== 27 && v !== 28) return { ok: false, reason: 'v' }
  if (isHighS(sig)) return { ok: false, reason: 'high-s' }
  const d = digest instanceof Uint8Array ? digest : strictHexToBytes(digest, 32)
  if (d === undefined || d.length !== 32) return { ok: false, reason: 'invalid' }
  const pub = secp256k1Backend.recover(d, sig.subarray(0, 64), v - 27)
  if (pub === undefined) return { ok: false, reason: 'invalid' }
  const addr = keccak256Bytes(pub.subarray(1)).subarray(12)
  if (addr.every((b) => b === 0)) return { ok: false, reason: 'invalid' }
  return { ok: true, signer: `0x${Buffer.from(addr.buffer, addr.byteOffset, 20).toString('hex')}` }
}
