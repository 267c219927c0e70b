import { hashAnswer } from './hashAnswer.ts'
import { signOracleDigest } from './signOracleDigest.ts'
import type { Answer, OracleKey, SignedAnswer } from './types.ts'

/**
 * Signs an oracle answer for `chainId`.
 *
 * @example
 * ```ts
 * const signed = signAnswer({ chainId: 31337n, key, answer: {
 *   questionId: keccak256(toHex('TRACK-123')), answer: textToBytes32('delivered'), timestamp: 1700000000n } })
 * ```
 */
export function signAnswer(args: { chainId: bigint; answer: Answer; key: OracleKey }): SignedAnswer {
  return {
    chainId: args.chainId,
    answer: args.answer,
    signature: signOracleDigest(hashAnswer(args.chainId, args.answer), args.key),
  }
}
