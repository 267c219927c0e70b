import { usageError } from './commandIo.ts'

const UNITS: Readonly<Record<string, number>> = { wei: 0, gwei: 9, eth: 18, ether: 18 }
const UINT256_MAX = (1n << 256n) - 1n

/**
 * An amount of ether in wei from the command line: `3eth`, `0.25eth`, `2gwei`, `150wei` or plain
 * wei (`1000`). Units are `wei`, `gwei`, `eth` (`ether`), case-insensitive. Throws a usage error
 * (`INVALID_ARGUMENT`) for anything else: a sign, an exponent, more decimals than the unit has, a
 * value of 2^256 wei or more.
 *
 * @example
 * ```ts
 * parseAmount('3eth') // 3000000000000000000n
 * parseAmount('2gwei', '--amount') // 2000000000n
 * ```
 */
export function parseAmount(text: string, what = 'amount'): bigint {
  const m = /^([0-9]+)(?:\.([0-9]+))?([a-zA-Z]*)$/.exec(text.trim())
  const bad = (why: string) =>
    usageError(`${what}: ${why}, got ${JSON.stringify(text)} (use 3eth, 0.5eth, 2gwei or plain wei)`)
  if (/^\s*-/.test(text)) throw bad('an amount cannot be negative')
  if (m === null) throw bad('not an amount')
  const [, whole = '', fraction = '', unitText = ''] = m
  const unit = unitText === '' ? 'wei' : unitText.toLowerCase()
  const decimals = UNITS[unit]
  if (decimals === undefined) throw bad(`unknown unit '${unitText}'`)
  if (fraction.length > decimals)
    throw bad(decimals === 0 ? 'wei has no fractions' : `${unit} has at most ${decimals} decimals`)
  const wei = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0')
  if (wei > UINT256_MAX) throw bad('too large')
  return wei
}
