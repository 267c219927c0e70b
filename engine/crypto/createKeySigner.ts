import { hexToBytes, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { signDigest } from './signDigest.ts'
import type { Signer } from './types.ts'

/**
 * A {@link Signer} over a secp256k1 private key held in memory (native libsecp256k1 when it loads).
 *
 * @example
 * ```ts
 * const signer = createKeySigner(generatePrivateKey())
 * const sig = await signer.signDigest(keccak256('0x01'))
 * ```
 */
export function createKeySigner(privateKey: Hex): Signer {
  const address = privateKeyToAddress(privateKey)
  // Read once: each signature would read the key's hex again.
  const key = hexToBytes(privateKey)
  return { address, signDigest: (digest) => signDigest(digest, key) }
}
