import type { TermFlag } from '../types.ts'

/**
 * The escrow's `chanvm open` flags.
 *
 * @example
 * ```ts
 * // chanvm open --app escrow ... --arbiter 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
 * ```
 */
export const termFlags: readonly TermFlag[] = [
  {
    flag: 'arbiter',
    term: 'arbiter',
    kind: 'address',
    value: '<addr>',
    help: 'whose signed ruling settles a funded escrow',
  },
]
