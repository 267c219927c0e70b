import type { Hex } from 'viem'
import { hashOracleMessage } from '../../engine/channel/eip712.ts'
import type { Answer } from './types.ts'

/**
 * The EIP-712 digest an oracle signs for `answer` on `chainId`; equal to Solidity
 * `OracleMessages.answerDigest(chainId, answer)`.
 *
 * @example
 * ```ts
 * const digest = hashAnswer(31337n, { questionId, answer: textToBytes32('delivered'), timestamp: 1700000000n })
 * ```
 */
export function hashAnswer(chainId: bigint, answer: Answer): Hex {
  return hashOracleMessage(chainId, 'Answer', answer)
}
