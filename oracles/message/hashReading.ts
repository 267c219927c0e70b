import type { Hex } from 'viem'
import { hashOracleMessage } from '../../engine/channel/eip712.ts'
import type { Reading } from './types.ts'

/**
 * The EIP-712 digest a device signs for `reading` on `chainId`; equal to Solidity
 * `OracleMessages.readingDigest(chainId, reading)`.
 *
 * @example
 * ```ts
 * const digest = hashReading(31337n, reading)
 * ```
 */
export function hashReading(chainId: bigint, reading: Reading): Hex {
  return hashOracleMessage(chainId, 'Reading', reading)
}
