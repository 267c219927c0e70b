import type { Address, Hex } from 'viem'

/**
 * The port through which chanvm signs: an address and a function that signs a 32-byte digest as
 * it is (no further hashing), returning 65 bytes `r || s || v` with low s and v in {27, 28}.
 * Implementations: {@link createKeySigner} (a key in memory); a keystore or a hardware signer can
 * take its place. Nothing in chanvm holds a raw private key beyond the signer.
 */
export type Signer = {
  readonly address: Address
  signDigest(digest: Hex): Hex | Promise<Hex>
}
