// Parsers for the values commands take on the command line. Each throws a usage error
// (`INVALID_ARGUMENT`) that names the flag and shows what it got.
import { isAddress, type Address, type Hex } from 'viem'
import { usageError } from './commandIo.ts'

const show = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)

/**
 * A whole number in [min, max] (decimal digits only).
 *
 * @example
 * ```ts
 * parseWhole('42', '--nonce') // 42n
 * ```
 */
export function parseWhole(text: string, what: string, min = 0n, max = (1n << 256n) - 1n): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) throw usageError(`${what} must be a whole number, got ${show(text)}`)
  const n = BigInt(text)
  if (n < min || n > max) throw usageError(`${what} must be between ${min} and ${max}, got ${text}`)
  return n
}

/**
 * A signed whole number in [min, max].
 *
 * @example
 * ```ts
 * parseInteger('-25000', '--min-value', -(2n ** 63n), 2n ** 63n - 1n) // -25000n
 * ```
 */
export function parseInteger(text: string, what: string, min: bigint, max: bigint): bigint {
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw usageError(`${what} must be a whole number, got ${show(text)}`)
  const n = BigInt(text)
  if (n < min || n > max) throw usageError(`${what} must be between ${min} and ${max}, got ${text}`)
  return n
}

/**
 * An Ethereum address (`0x` and 40 hex digits; mixed case must be a valid checksum).
 *
 * @example
 * ```ts
 * const counterparty = parseAddress(values.counterparty, '--counterparty')
 * ```
 */
export function parseAddress(text: string, what: string): Address {
  if (!isAddress(text, { strict: true }))
    throw usageError(`${what} must be an address (0x and 40 hex digits, valid checksum), got ${show(text)}`)
  return text
}

/**
 * `0x` and exactly `bytes` bytes of hex, in lower case.
 *
 * @example
 * ```ts
 * const device = parseHexBytes(values.device, '--device', 32)
 * ```
 */
export function parseHexBytes(text: string, what: string, bytes: number): Hex {
  if (!new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`).test(text))
    throw usageError(`${what} must be 0x and ${bytes * 2} hex digits (${bytes} bytes), got ${show(text)}`)
  return text.toLowerCase() as Hex
}

/**
 * A channel id (bytes32).
 *
 * @example
 * ```ts
 * const channelId = parseChannelId(positionals[0])
 * ```
 */
export function parseChannelId(text: string | undefined): Hex {
  if (text === undefined) throw usageError('a channel id is required (0x and 64 hex digits)')
  return parseHexBytes(text, 'channel id', 32)
}

const SECONDS: Readonly<Record<string, bigint>> = { s: 1n, m: 60n, h: 3_600n, d: 86_400n }

/**
 * A duration in seconds: `3600`, `90s`, `15m`, `1h`, `7d`.
 *
 * @example
 * ```ts
 * parseDuration('1h', '--challenge') // 3600n
 * ```
 */
export function parseDuration(text: string, what: string, min = 0n): bigint {
  const m = /^(0|[1-9][0-9]*)([smhd]?)$/.exec(text)
  if (m === null)
    throw usageError(`${what} must be seconds or a duration like 90s, 15m, 1h, 7d, got ${show(text)}`)
  const seconds = BigInt(m[1] ?? '0') * (SECONDS[m[2] || 's'] ?? 1n)
  if (seconds < min || seconds >= 1n << 64n)
    throw usageError(`${what} must be at least ${min} s, got ${text}`)
  return seconds
}

/**
 * A point in time in unix seconds: `1767225600`, an ISO 8601 date (`2026-12-31T00:00:00Z`) or
 * `+DURATION` from `nowMs` (`+1h`, `+3600`).
 *
 * @example
 * ```ts
 * parseTime('+1d', '--deadline', Date.now()) // now + 86400, in seconds
 * ```
 */
export function parseTime(text: string, what: string, nowMs: number): bigint {
  if (text.startsWith('+')) return BigInt(Math.floor(nowMs / 1000)) + parseDuration(text.slice(1), what)
  if (/^[0-9]+$/.test(text)) return parseWhole(text, what, 0n, (1n << 64n) - 1n)
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  if (!Number.isFinite(ms) || ms < 0)
    throw usageError(`${what} must be unix seconds, an ISO date or +DURATION (+1h), got ${show(text)}`)
  return BigInt(Math.floor(ms / 1000))
}

/**
 * A comma-separated list, without empty items.
 *
 * @example
 * ```ts
 * parseList('0xa, 0xb,') // ['0xa', '0xb']
 * ```
 */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}
