import { hexToBytes, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import type { CryptoPool } from './createCryptoPool.ts'
import { signDigest } from './signDigest.ts'
import type { Signer } from './types.ts'

/** The key bytes of each signer {@link createKeySigner} made, for {@link signerOnPool}. */
const keys = new WeakMap<Signer, Uint8Array>()

/**
 * A {@link Signer} over a secp256k1 private key held in memory (native libsecp256k1 when it loads).
 * With `pool`, it signs through the pool's threads ({@link createCryptoPool}): the same
 * signatures, computed off the calling thread when it is busy.
 *
 * @example
 * ```ts
 * const signer = createKeySigner(generatePrivateKey())
 * const sig = await signer.signDigest(keccak256('0x01'))
 * ```
 */
export function createKeySigner(privateKey: Hex, opts: { pool?: CryptoPool | undefined } = {}): Signer {
  const address = privateKeyToAddress(privateKey)
  // Read once: each signature would read the key's hex again.
  const key = hexToBytes(privateKey)
  const { pool } = opts
  const signer: Signer =
    pool === undefined
      ? { address, signDigest: (digest) => signDigest(digest, key) }
      : { address, signDigest: (digest) => pool.sign(digest, key) }
  keys.set(signer, key)
  return signer
}

/**
 * `signer` signing through `pool` when it is a key signer ({@link createKeySigner}); any other
 * signer (a keystore's, a hardware one) as it is.
 *
 * @example
 * ```ts
 * const signer = signerOnPool(options.signer, pool)
 * ```
 */
export function signerOnPool(signer: Signer, pool: CryptoPool): Signer {
  const key = keys.get(signer)
  if (key === undefined) return signer
  const onPool: Signer = { address: signer.address, signDigest: (digest) => pool.sign(digest, key) }
  keys.set(onPool, key)
  return onPool
}
