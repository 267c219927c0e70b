import type { Hex } from 'viem'
import { hashAnswer } from './hashAnswer.ts'
import { verifyOracleSignature } from './verifyOracleSignature.ts'
import type { Answer, OracleSignature, QuorumVerdict } from './types.ts'

/**
 * Checks a k-of-n quorum of distinct oracles on one answer, with the rules and order of Solidity
 * `OracleMessages.verifyAnswerQuorum`: `1 <= threshold <= oracles.length <= 256` (else
 * `bad-quorum`); each signature valid (its own reason), by a listed oracle (`unknown-oracle`),
 * no oracle twice (`duplicate-oracle`); at least `threshold` signatures (`quorum-not-met`).
 *
 * @example
 * ```ts
 * const v = verifyAnswerQuorum({ chainId, answer, signatures: [s1, s3], oracles: [o1, o2, o3], threshold: 2 })
 * if (v.ok) console.log('delivered, signed by', v.signers)
 * ```
 */
export function verifyAnswerQuorum(args: {
  chainId: bigint
  answer: Answer
  signatures: readonly OracleSignature[]
  oracles: readonly Hex[]
  threshold: number
}): QuorumVerdict {
  const { oracles, threshold } = args
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > oracles.length || oracles.length > 256) {
    return { ok: false, reason: 'bad-quorum' }
  }
  const listed = oracles.map((o) => o.toLowerCase())
  const digest = hashAnswer(args.chainId, args.answer)
  const used = new Set<number>()
  const signers: Hex[] = []
  for (const [index, sig] of args.signatures.entries()) {
    const v = verifyOracleSignature(digest, sig)
    if (!v.ok) return { ok: false, reason: v.reason, index }
    const j = listed.indexOf(v.signer)
    if (j === -1) return { ok: false, reason: 'unknown-oracle', index }
    if (used.has(j)) return { ok: false, reason: 'duplicate-oracle', index }
    used.add(j)
    signers.push(v.signer)
  }
  if (args.signatures.length < threshold) return { ok: false, reason: 'quorum-not-met' }
  return { ok: true, signers }
}
