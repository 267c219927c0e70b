/** The EIP-712 domain name of oracle messages (the domain has no verifying contract). */
export const ORACLE_DOMAIN_NAME = 'chanvm-oracle'

/** The EIP-712 types of a reading and an answer, as signed. */
export const oracleTypes = {
  Reading: [
    { name: 'device', type: 'bytes32' },
    { name: 'sequence', type: 'uint64' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'kind', type: 'bytes32' },
    { name: 'value', type: 'int64' },
    { name: 'unit', type: 'bytes32' },
  ],
  Answer: [
    { name: 'questionId', type: 'bytes32' },
    { name: 'answer', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
  ],
} as const

/**
 * The EIP-712 domain of oracle messages on `chainId`: `{name: "chanvm-oracle", version: "1", chainId}`.
 * Binding the chain id means a reading signed for one chain never verifies on another.
 *
 * @example
 * ```ts
 * const domain = oracleDomain(31337n) // { name: 'chanvm-oracle', version: '1', chainId: 31337n }
 * ```
 */
export function oracleDomain(chainId: bigint): { name: string; version: string; chainId: bigint } {
  return { name: ORACLE_DOMAIN_NAME, version: '1', chainId }
}
