import { p256 } from '@noble/curves/nist.js'
import { bytesToHex, hexToBytes, type Hex } from 'viem'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { getP256PublicKey } from './getP256PublicKey.ts'
import type { OracleKey, OracleSignature } from './types.ts'

/** The public keys of the P-256 keys that signed recently (deriving one costs as much as a signature). */
const publicKeys = new Map<Hex, Hex>()

/**
 * Signs a 32-byte oracle-message digest: secp256k1 gives 65 bytes `r || s || v` (low s), P-256
 * gives 64 bytes `r || s` over SHA-256 of the digest (ES256: RFC 6979 with HMAC-SHA256, low s)
 * plus the public key. Throws `INVALID_ARGUMENT` for a
 * bad key or digest.
 *
 * @example
 * ```ts
 * const sig = signOracleDigest(hashReading(chainId, reading), key)
 * ```
 */
export function signOracleDigest(digest: Hex, key: OracleKey): OracleSignature {
  const d = hexToBytes(digest)
  if (d.length !== 32) throw new ChanvmError('INVALID_ARGUMENT', `digest must be 32 bytes, got ${d.length}`)
  if (key.curve === 'secp256k1') {
    try {
      return { curve: 'secp256k1', signature: signDigest(d, key.privateKey) }
    } catch (cause) {
      throw new ChanvmError('INVALID_ARGUMENT', 'not a valid secp256k1 private key', { cause })
    }
  }
  let publicKey = publicKeys.get(key.privateKey)
  if (publicKey === undefined) {
    publicKey = getP256PublicKey(key.privateKey)
    if (publicKeys.size >= 1_000) publicKeys.clear()
    publicKeys.set(key.privateKey, publicKey)
  }
  const sig = p256.sign(d, hexToBytes(key.privateKey), { prehash: true, lowS: true })
  return { curve: 'p256', signature: bytesToHex(sig), publicKey }
}
