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

function loadNative(): Secp256k1Backend | undefined {
  if (process.env.CHANVM_SECP256K1 === 'noble') return undefined
  try {
    const require = createRequire(import.meta.url)
    // `secp256k1/bindings` is the native addon alone; the package root silently falls back to JS.
    const lib = require('secp256k1/bindings') as NativeSecp
    return {
      name: 'native',
      sign(digest, privateKey) {
        const { signature, recid } = lib.ecdsaSign(digest, privateKey)
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
