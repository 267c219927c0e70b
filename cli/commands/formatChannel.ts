import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
// How the commands print amounts and channels for people.
import { formatEther } from 'viem'
import type { ChannelSummary } from '../../node/types.ts'

/**
 * `1500000000000000000` → `1.5 ETH`; small amounts in wei.
 *
 * @example
 * ```ts
 * formatWei(1_500_000_000_000_000_000n) // '1.5 ETH'
 * ```
 */
export function formatWei(wei: bigint): string {
  if (wei !== 0n && wei < 1_000_000_000n && wei > -1_000_000_000n) return `${wei} wei`
  return `${formatEther(wei)} ETH`
}

/**
 * The role name of participant `index` in `app`.
 *
 * @example
 * ```ts
 * roleName('cold-chain', 1) // 'insurer'
 * ```
 */
export function roleName(app: string, index: number): string {
  return BUILT_IN_REGISTRY.byName(app)?.roles[index] ?? `participant ${index}`
}

/**
 * A channel's status for people, the same words in `channels` and `show`: the status, what this
 * node may still withdraw, and the off-chain phase when it says more than the status.
 *
 * @example
 * ```ts
 * formatStatus(channel) // 'concluded, 0.6 ETH to withdraw (off chain: final)'
 * ```
 */
export function formatStatus(c: ChannelSummary): string {
  const credit =
    c.status === 'concluded' && c.withdrawable !== undefined
      ? `, ${formatWei(c.withdrawable)} to withdraw`
      : ''
  const phase = c.phase === c.status ? '' : ` (off chain: ${c.phase})`
  return `${c.status}${credit}${phase}`
}

/**
 * The Adjudicator's record for people, the same words in `channels` and `show`.
 *
 * @example
 * ```ts
 * formatOnChain(channel.onChain) // 'dispute, version 5 (forced from 4), finalizes at 2027-01-15T08:10:00.000Z'
 * ```
 */
export function formatOnChain(o: ChannelSummary['onChain']): string {
  if (o === undefined) return 'not read'
  const base = o.baseVersion === o.version ? '' : ` (forced from ${o.baseVersion})`
  const timing = o.status === 'dispute' ? `, finalizes at ${formatUnixTime(o.finalizesAt)}` : ''
  return `${o.status}, version ${o.version}${base}${timing}`
}

/**
 * The lines `chanvm show` prints for a channel.
 *
 * @example
 * ```ts
 * for (const line of formatChannelLines(await api.getChannel(id))) console.log(line)
 * ```
 */
export function formatChannelLines(c: ChannelSummary): string[] {
  const lines = [
    `channel   ${c.channelId}`,
    `app       ${c.app}, we are ${roleName(c.app, c.me)} (participant ${c.me})`,
    `status    ${formatStatus(c)}`,
    `version   ${c.version} (latest co-signed${c.isFinal ? ', final' : ''})`,
  ]
  c.participants.forEach((p, i) => {
    const balance = c.balances[i]
    lines.push(
      `  ${roleName(c.app, i).padEnd(8)} ${p}${i === c.me ? ' (us)' : '     '}  ${balance === undefined ? '?' : formatWei(balance)}`,
    )
  })
  lines.push(`on chain  ${formatOnChain(c.onChain)}`)
  return lines
}

/**
 * Unix seconds as an ISO date.
 *
 * @example
 * ```ts
 * formatUnixTime(1_800_000_000n) // '2027-01-15T08:00:00.000Z'
 * ```
 */
export function formatUnixTime(seconds: bigint): string {
  const ms = Number(seconds) * 1000
  return Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString() : `${seconds}`
}

/**
 * A duration in seconds as `1h 02m 03s`.
 *
 * @example
 * ```ts
 * formatDuration(3_725n) // '1h 02m 05s'
 * ```
 */
export function formatDuration(seconds: bigint): string {
  if (seconds <= 0n) return '0s'
  const h = seconds / 3600n
  const m = (seconds % 3600n) / 60n
  const s = seconds % 60n
  const two = (n: bigint) => n.toString().padStart(2, '0')
  if (h > 0n) return `${h}h ${two(m)}m ${two(s)}s`
  if (m > 0n) return `${m}m ${two(s)}s`
  return `${s}s`
}

/**
 * A fee for people: exact when short, else `~` and four significant digits (`~0.0001471 ETH`).
 *
 * @example
 * ```ts
 * formatFee(147_134_847_197_490n) // '~0.0001471 ETH'
 * ```
 */
export function formatFee(wei: bigint): string {
  const exact = formatWei(wei)
  if (wei < 10n ** 12n) return exact
  const ether = formatEther(wei)
  const rounded = Number(Number(ether).toPrecision(4)).toString()
  return rounded === ether ? exact : `~${rounded} ETH`
}
