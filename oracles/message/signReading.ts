import { hashReading } from './hashReading.ts'
import { signOracleDigest } from './signOracleDigest.ts'
import type { OracleKey, Reading, SignedReading } from './types.ts'

/**
 * Signs a reading for `chainId` with a device key. `reading.device` must be the key's signer id
 * (`getSignerId(key)`), or the result will not verify (`wrong-signer`).
 *
 * @example
 * ```ts
 * const key = createOracleKey('p256')
 * const signed = signReading({ chainId: 31337n, key, reading: {
 *   device: getSignerId(key), sequence: 1n, timestamp: 1700000000n,
 *   kind: textToBytes32('temperature'), value: -18250n, unit: textToBytes32('mC') } })
 * ```
 */
export function signReading(args: { chainId: bigint; reading: Reading; key: OracleKey }): SignedReading {
  return {
    chainId: args.chainId,
    reading: args.reading,
    signature: signOracleDigest(hashReading(args.chainId, args.reading), args.key),
  }
}
