import type { TermFlag } from '../types.ts'

const UINT64_MAX = ((1n << 64n) - 1n).toString()

/**
 * The tv-delivery's `chanvm open` flags.
 *
 * @example
 * ```ts
 * // chanvm open --app tv-delivery ... --price 0.5eth --oracles ID,ID,ID --quorum 2
 * //   --deadline-block 1200 --tracking-id 1Z999AA10123456784
 * ```
 */
export const termFlags: readonly TermFlag[] = [
  { flag: 'price', term: 'price', kind: 'amount', min: '1', value: 'AMOUNT', help: 'the price of the goods' },
  {
    flag: 'oracles',
    term: 'oracles',
    kind: 'bytes32-list',
    maxLength: 32,
    value: 'ID,ID,..',
    help: "the oracles' signer ids (bytes32, chanvm device keygen prints them)",
  },
  {
    flag: 'quorum',
    term: 'quorum',
    kind: 'whole',
    min: '1',
    atMostCountOf: 'oracles',
    number: true,
    value: 'K',
    help: 'how many oracles must answer "delivered"',
  },
  {
    flag: 'deadline-block',
    term: 'deadline',
    kind: 'whole',
    max: UINT64_MAX,
    value: 'N',
    help: 'block from which the buyer may take a refund',
  },
  {
    flag: 'tracking-id',
    term: 'trackingId',
    kind: 'text',
    maxLength: 128,
    value: 'TEXT',
    help: "the carrier's tracking id the oracles answer about",
  },
]
