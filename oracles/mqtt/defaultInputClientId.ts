import { createHash } from 'node:crypto'
import { hostname } from 'node:os'

/**
 * The client id an input source takes when it is given none: stable for one host, chain and set
 * of topics, so a restarted consumer resumes its persistent session.
 *
 * @example
 * ```ts
 * defaultInputClientId(31337n, ['chanvm/v1/devices/+/readings']) // 'chanvm-inputs-…'
 * ```
 */
export function defaultInputClientId(chainId: bigint, topics: readonly string[]): string {
  const key = [hostname(), chainId.toString(), ...[...topics].sort()].join('\n')
  return `chanvm-inputs-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`
}
