import { formatEther } from 'viem'

/**
 * Values as the built-in apps show them: `eth` (wei as ETH), `utc` (unix seconds as an ISO time,
 * `—` for zero), `celsius` (milli-degrees as °C).
 *
 * @example
 * ```ts
 * formatValue.eth(10n ** 17n) // '0.1 ETH'
 * ```
 */
export const formatValue = {
  eth: (wei: bigint): string => `${formatEther(wei)} ETH`,
  utc: (seconds: bigint): string =>
    seconds === 0n ? '—' : new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z'),
  celsius: (milli: bigint): string => `${(Number(milli) / 1000).toFixed(1)} °C`,
}
