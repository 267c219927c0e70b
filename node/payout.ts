import type { Address } from 'viem'
import { ChanvmError } from '../engine/errors.ts'

/** What the Adjudicator's payout of a channel depends on. */
export type PayoutInput = {
  /** The channel's participants, in order (an address may appear twice). */
  participants: readonly Address[]
  /** Balances of the state that concludes the channel, one per participant. */
  balances: readonly bigint[]
  /** Version of the state that concludes the channel: the opening state (0) pays deposits back. */
  version: bigint
  /**
   * What was deposited on behalf of each participant's address, in participant order (an address
   * named twice counts once, at its first index; what is given at its other indices is ignored).
   */
  deposits: readonly bigint[]
}

/**
 * What each participant is credited when the channel concludes on a state with `balances`: the
 * rule of `Adjudicator._payout`, mirrored wei for wei. The pool is what was deposited for the
 * participants' addresses (deposits for other addresses are not part of it; they are reclaimed by
 * those addresses). With B the sum of the balances:
 *
 * - pool ≥ B (funded): participant i gets `balances[i]`, and the rest of the pool (pool - B) goes
 *   to the addresses that deposited more than their balances sum to, in proportion to that excess,
 *   rounded down (the wei the rounding leaves, fewer than those addresses, one each to the first of
 *   them in participant order, so none gets more than its excess);
 * - pool < B (never fully funded), or version 0 (the opening state moves no value): each address
 *   gets back its deposit, at its first index.
 *
 * Nobody is paid from another's deposit beyond what the state assigns it, and the credits sum to
 * the pool. See docs/adjudicator.md, "Funding".
 *
 * @example
 * ```ts
 * // bob deposited 1,200 (his 400 sent three times), alice nothing: the opening state pays every
 * // deposit back as it came; at version 3 alice gets what that state gives her.
 * payoutOf({ participants: [alice, bob], balances: [600n, 400n], deposits: [0n, 1200n], version: 0n })
 * // [0n, 1200n]
 * payoutOf({ participants: [alice, bob], balances: [500n, 500n], deposits: [600n, 1200n], version: 3n })
 * // [500n, 1300n]
 * ```
 */
export function payoutOf(input: PayoutInput): bigint[] {
  const { participants, balances, deposits, version } = input
  const n = participants.length
  if (n === 0) throw new ChanvmError('INVALID_ARGUMENT', 'a channel has participants')
  if (balances.length !== n || deposits.length !== n)
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      `payout needs one balance and one deposit per participant (${n}), got ${balances.length} and ${deposits.length}`,
    )
  if (balances.some((b) => b < 0n) || deposits.some((d) => d < 0n))
    throw new ChanvmError('INVALID_ARGUMENT', 'payout amounts are never negative')
  const key = (i: number): string => (participants[i] ?? '').toLowerCase()
  const first = participants.map((_, i) => participants.findIndex((_, j) => key(j) === key(i)) === i)
  const dep = deposits.map((d, i) => (first[i] ? d : 0n))
  const pool = dep.reduce((a, b) => a + b, 0n)
  const need = balances.reduce((a, b) => a + b, 0n)
  if (version === 0n || need > pool) return dep
  const paid = [...balances]
  const excess = dep.map((d, i) => {
    if (!first[i]) return 0n
    const own = balances.reduce((a, b, j) => (key(j) === key(i) ? a + b : a), 0n)
    return d > own ? d - own : 0n
  })
  const rest = pool - need
  if (rest === 0n) return paid
  const excessSum = excess.reduce((a, b) => a + b, 0n)
  let left = rest
  for (const [i, e] of excess.entries()) {
    const share = (e * rest) / excessSum
    paid[i] = (paid[i] ?? 0n) + share
    left -= share
  }
  for (const [i, e] of excess.entries()) {
    if (left === 0n) break
    if (e === 0n) continue
    paid[i] = (paid[i] ?? 0n) + 1n
    left -= 1n
  }
  return paid
}
