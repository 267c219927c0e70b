import type { Hex } from 'viem'
import { hashAnswer } from './hashAnswer.ts'
import { verifyOracleSignature } from './verifyOracleSignature.ts'
import type { OracleSignatureVerdict, SignedAnswer } from './types.ts'

/**
 * Verifies one oracle's answer as Solidity `OracleMessages.verifyAnswer`: a valid signature over
 * `hashAnswer(chainId, answer)`, and, when `oracle` is given, by that signer id (else `wrong-signer`).
 *
 * @example
 * ```ts
 * const v = verifyAnswer(signed, { oracle: arbiterId })
 * ```
 */
export function verifyAnswer(signed: SignedAnswer, options: { oracle?: Hex } = {}): OracleSignatureVerdict {
  const v = verifyOracleSignature(hashAnswer(signed.chainId, signed.answer), signed.signature)
  if (!v.ok) return v
  if (options.oracle !== undefined && v.signer !== options.oracle.toLowerCase())
    return { ok: false, reason: 'wrong-signer' }
  return v
}
