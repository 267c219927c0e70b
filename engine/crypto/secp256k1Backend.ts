import { createRequire } from 'node:module'
import { secp256k1 as noble } from '@noble/curves/secp256k1.js'

/**
 * The secp256k1 implementation on the hot path: native libsecp256k1 (the `secp256k1` package's
 * prebuilt addon) when it loads, the pure-JS `@noble/curves` otherwise. Both produce low-s
 * signatures and recover the same keys; only speed differs.
 */
export type Secp256k1Backend = {
  readonly name: 'native' | 'noble'
  /** Signs a 32-byte digest; returns 64-byte compact (r || s, low s) and the recovery id. */
  sign(digest: Uint8Array, privateKey: Uint8Array): { compact: Uint8Array; recid: number }
  /** Recovers the 65-byte uncompressed public key, or `undefined` when the signature is invalid. */
  recover(digest: Uint8Array, compact: Uint8Array, recid: number): Uint8Array | undefined
}

type NativeSecp = {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number }
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array
}

/** The secp256k1 group order n. */
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/**
 * The 32-byte digest reduced mod n (a digest is below 2^256 < 2n, so at most one subtraction).
 * Only digests from n to 2^256 - 1 change, about one in 2^128.
 */
function reduceDigest(digest: Uint8Array): Uint8Array {
  // n begins with 15 bytes 0xff: a digest whose first byte is not 0xff is below it.
  if (digest[0] !== 0xff) return digest
  let e = 0n
  for (const b of digest) e = (e << 8n) | BigInt(b)
  if (digest.length !== 32 || e < ORDER) return digest
  let r = e - ORDER
  const out = new Uint8Array(32)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(r & 0xffn)
    r >>= 8n
  }
  return out
}

function loadNative(): Secp256k1Backend | undefined {
  if (process.env.CHANVM_SECP256K1 === 'noble') return undefined
  try {
    const require = createRequire(import.meta.url)
    // `secp256k1/bindings` is the native addon alone; the package root silently falls back to JS.
    const lib = require('secp256k1/bindings') as NativeSecp
    return {
      name: 'native',
      sign(digest, privateKey) {
        // libsecp256k1 derives its RFC 6979 nonce from the digest bytes as given; RFC 6979
        // (bits2octets) and noble reduce the digest mod n first. ECDSA itself uses the digest mod n,
        // so signing the reduced digest is the same signature scheme, with the RFC 6979 nonce.
        const { signature, recid } = lib.ecdsaSign(reduceDigest(digest), privateKey)
        return { compact: signature, recid }
      },
      recover(digest, compact, recid) {
        try {
          return lib.ecdsaRecover(compact, recid, digest, false)
        } catch {
          return undefined
        }
      },
    }
  } catch {
    return undefined
  }
}

const nobleBackend: Secp256k1Backend = {
  name: 'noble',
  sign(digest, privateKey) {
    const sig = noble.sign(digest, privateKey, { prehash: false, lowS: true, format: 'recovered' })
    // 'recovered' format: recid (1 byte) || r || s
    return { compact: sig.subarray(1, 65), recid: sig[0] ?? 0 }
  },
  recover(digest, compact, recid) {
    try {
      const sig = noble.Signature.fromBytes(compact, 'compact').addRecoveryBit(recid)
      return sig.recoverPublicKey(digest).toBytes(false)
    } catch {
      return undefined
    }
  },
}

const native = loadNative()

/** Both implementations, for tests that hold them to the same answers. */
export const secp256k1Backends: {
  readonly native: Secp256k1Backend | undefined
  readonly noble: Secp256k1Backend
} = { native, noble: nobleBackend }

/** The backend in use for this process (`CHANVM_SECP256K1=noble` forces the pure-JS one). */
export const secp256k1Backend: Secp256k1Backend = native ?? nobleBackend
