import type { Address, Hex } from 'viem'
import { recoverDigestSigner, type SignatureVerdict } from '../crypto/recoverDigestSigner.ts'
import { hashState } from './hashState.ts'
import type { ChannelParams, State } from './types.ts'

export type StateSignatureVerdict = SignatureVerdict | { ok: false; reason: 'wrong-signer'; signer: Address }

/**
 * Checks that `signature` is `expected`'s signature over the state's digest, under the strict
 * rules (`0x` hex, 65 bytes, low s, v 27/28, non-zero signer; docs/signing.md). Returns a verdict;
 * never throws on bad input. Store an accepted signature as `canonicalSignature` gives it.
 *
 * @example
 * ```ts
 * const v = verifyStateSignature(params, state, sig, params.participants[1])
 * if (!v.ok) console.log(v.reason)
 * ```
 */
export function verifyStateSignature(
  params: ChannelParams,
  state: State,
  signature: Hex,
  expected: Address,
  digest: Hex = hashState(params.chainId, params.adjudicator, state),
): StateSignatureVerdict {
  const v = recoverDigestSigner(digest, signature)
  if (!v.ok) return v
  if (v.signer.toLowerCase() !== expected.toLowerCase())
    return { ok: false, reason: 'wrong-signer', signer: v.signer }
  return v
}
