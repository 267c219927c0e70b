import { DOMAIN_VERSION, eip712Types, ORACLE_DOMAIN_NAME } from '../../engine/channel/eip712.ts'

export { ORACLE_DOMAIN_NAME }

/** The EIP-712 types of a reading and an answer, as signed (from the compiled `OracleMessages` ABI). */
export const oracleTypes = { Reading: eip712Types.Reading, Answer: eip712Types.Answer } as const

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
  return { name: ORACLE_DOMAIN_NAME, version: DOMAIN_VERSION, chainId }
}
