import type { Address } from 'viem'
import { ChanvmError } from '../engine/errors.ts'

/** What the Adjudicator's payout of a channel depends on. */
export type PayoutInput = {
  /** The channel's participants, in order (an address may appear twice). */
  participants: readonly Address[]
  /** Balances of the state that concludes the channel, one per participant. */
  balances: readonly bigint[]
  /** Wei the channel holds (every deposit into it, for anyone). */
  holdings: bigint
  /** What was deposited on behalf of each participant's address, in participant order. */
  deposits: readonly bigint[]
}

/**
 * What each participant is credited when the channel concludes on a state with `balances`: the
 * rule of `Adjudicator._payout`, mirrored. When the holdings cover the balances, participant i gets
 * `balances[i]`; when they do not (the channel was never fully funded), each participant address
 * gets back what was deposited for it, once, at its first index. What is left (holdings above the
 * balances, deposits made for others) is split equally, the remainder of the division to
 * participant 0. The credits always sum to the holdings.
 *
 * @example
 * ```ts
 * const paid = payoutOf({ participants: [alice, bob], balances: [600n, 400n], holdings: 1000n, deposits: [600n, 400n] })
 * // paid = [600n, 400n]
 * ```
 */
export function payoutOf(input: PayoutInput): bigint[] {
  const { participants, balances, holdings, deposits } = input
  const n = participants.length
  if (n === 0) throw new ChanvmError('INVALID_ARGUMENT', 'a channel has participants')
  if (balances.length !== n || deposits.length !== n)
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      `payout needs one balance and one deposit per participant (${n}), got ${balances.length} and ${deposits.length}`,
    )
  if (holdings < 0n || balances.some((b) => b < 0n) || deposits.some((d) => d < 0n))
    throw new ChanvmError('INVALID_ARGUMENT', 'payout amounts are never negative')
  let need = 0n
  let covered = true
  for (const b of balances) {
    if (b > holdings - need) {
      covered = false
      break
    }
    need += b
  }
  const seen = new Set<string>()
  const paid = participants.map((p, i) => {
    const key = p.toLowerCase()
    const first = !seen.has(key)
    seen.add(key)
    if (covered) return balances[i] ?? 0n
    return first ? (deposits[i] ?? 0n) : 0n
  })
  const left = holdings - paid.reduce((a, b) => a + b, 0n)
  if (left < 0n)
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      `the deposits of the participants (${holdings - left}) exceed the holdings (${holdings})`,
    )
  if (left !== 0n) {
    const share = left / BigInt(n)
    for (let i = 0; i < n; i++) paid[i] = (paid[i] ?? 0n) + share
    paid[0] = (paid[0] ?? 0n) + (left - share * BigInt(n))
  }
  return paid
}
