import { verify } from 'node:crypto'
import type { Hex } from 'viem'
import { recoverDigestSigner } from '../../engine/crypto/recoverDigestSigner.ts'
import { strictHexToBytes } from '../../engine/crypto/strictHexToBytes.ts'
import { p256KeyObject } from './p256KeyCache.ts'
import { p256PublicKeyToSignerId } from './p256PublicKeyToSignerId.ts'
import type { OracleSignature, OracleSignatureVerdict } from './types.ts'

/** The P-256 group order n and n / 2 (a signature's s must not exceed it). */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
export const P256_HALF_N = P256_N >> 1n

/** `0x` and the 12 zero bytes an address is padded with to make its signer id (`addressToSignerId`). */
const ID_PAD = `0x${'00'.repeat(12)}`

/**
 * Verifies a signature over a 32-byte digest under the rules of Solidity
 * `OracleMessages.signerOf`, in the same order, and returns the signer id or the reason. Never
 * throws on bad input. Byte strings must be `0x` and hex digits of either case, or the reason is
 * `encoding` (a string no transaction could carry as these bytes; Solidity never sees it).
 *
 * - secp256k1: no public key, 65 bytes, v in {27, 28}, s <= n/2, a recoverable non-zero signer.
 * - P-256 (ES256): a 64-byte public key, a 64-byte `r || s`, s <= n/2, 1 <= r < n, s >= 1, and
 *   ECDSA over SHA-256 of the digest holds (OpenSSL through `node:crypto`; the range and low-s
 *   checks come first, since OpenSSL accepts a high s).
 *
 * @example
 * ```ts
 * const v = verifyOracleSignature(digest, sig)
 * if (v.ok && v.signer === deviceId) accept()
 * ```
 */
export function verifyOracleSignature(digest: Hex, sig: OracleSignature): OracleSignatureVerdict {
  const d = strictHexToBytes(digest, 32)
  if (d === undefined) return { ok: false, reason: 'invalid' }
  if (sig.curve === 'secp256k1') {
    if ('publicKey' in sig && (sig as { publicKey?: unknown }).publicKey !== undefined)
      return { ok: false, reason: 'public-key' }
    const v = recoverDigestSigner(d, typeof sig.signature === 'string' ? sig.signature : ('' as Hex))
    if (!v.ok) return v
    // The recovered address is 20 bytes in lower-case hex: its id is it left-padded to 32 bytes.
    return { ok: true, signer: `${ID_PAD}${v.signer.slice(2)}` as Hex }
  }
  if (sig.curve === 'p256') {
    if (typeof sig.publicKey !== 'string') return { ok: false, reason: 'public-key' }
    const pub = strictHexToBytes(sig.publicKey)
    if (pub === undefined) return { ok: false, reason: 'encoding' }
    if (pub.length !== 64) return { ok: false, reason: 'public-key' }
    const s = strictHexToBytes(sig.signature)
    if (s === undefined) return { ok: false, reason: 'encoding' }
    if (s.length !== 64) return { ok: false, reason: 'length' }
    // The string is 0x and 128 hex digits here (checked just above).
    const r = BigInt(`0x${sig.signature.slice(2, 66)}`)
    const sv = BigInt(`0x${sig.signature.slice(66, 130)}`)
    if (sv > P256_HALF_N) return { ok: false, reason: 'high-s' }
    if (r === 0n || r >= P256_N || sv === 0n) return { ok: false, reason: 'invalid' }
    const publicKey = sig.publicKey.toLowerCase()
    const key = p256KeyObject(publicKey, pub)
    if (key === undefined) return { ok: false, reason: 'invalid' }
    let ok = false
    try {
      ok = verify('sha256', d, { key, dsaEncoding: 'ieee-p1363' }, s)
    } catch {
      ok = false
    }
    if (!ok) return { ok: false, reason: 'invalid' }
    return { ok: true, signer: p256PublicKeyToSignerId(publicKey as Hex) }
  }
  return { ok: false, reason: 'curve' }
}
