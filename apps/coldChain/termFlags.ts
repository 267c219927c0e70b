import type { TermFlag } from '../types.ts'

const INT64_MIN = (-(1n << 63n)).toString()
const INT64_MAX = ((1n << 63n) - 1n).toString()
const UINT64_MAX = ((1n << 64n) - 1n).toString()

/**
 * The cold-chain's `chanvm open` flags.
 *
 * @example
 * ```ts
 * // chanvm open --app cold-chain ... --device ID --min-value=-25000 --max-value=-15000
 * //   --run-length 3 --premium 0.01eth --insured-sum 1eth --period 1d --max-periods 30
 * ```
 */
export const termFlags: readonly TermFlag[] = [
  {
    flag: 'device',
    term: 'device',
    kind: 'bytes32',
    value: 'ID',
    help: "the thermometer's signer id (bytes32)",
  },
  {
    flag: 'min-value',
    term: 'minValue',
    kind: 'integer',
    min: INT64_MIN,
    max: INT64_MAX,
    notAbove: 'max-value',
    value: '=MC',
    help: 'the lowest allowed reading, milli-degrees Celsius (use = for negatives)',
  },
  {
    flag: 'max-value',
    term: 'maxValue',
    kind: 'integer',
    min: INT64_MIN,
    max: INT64_MAX,
    value: '=MC',
    help: 'the highest allowed reading, milli-degrees Celsius',
  },
  {
    flag: 'run-length',
    term: 'runLength',
    kind: 'whole',
    min: '1',
    max: '65535',
    number: true,
    value: 'N',
    help: 'consecutive readings outside the range that pay out',
  },
  { flag: 'premium', term: 'premium', kind: 'amount', value: 'AMOUNT', help: 'premium per period' },
  {
    flag: 'insured-sum',
    term: 'insuredSum',
    kind: 'amount',
    min: '1',
    value: 'AMOUNT',
    help: 'paid to the owner on an excursion',
  },
  {
    flag: 'period',
    term: 'periodSeconds',
    kind: 'duration',
    min: '1',
    value: 'SECONDS',
    help: 'length of one period (1h, 1d)',
  },
  {
    flag: 'max-periods',
    term: 'maxPeriods',
    kind: 'whole',
    min: '1',
    max: UINT64_MAX,
    value: 'N',
    help: 'periods the policy can cover',
  },
  {
    flag: 'claim-window',
    term: 'claimWindow',
    kind: 'duration',
    default: '0',
    value: 'SECONDS',
    help: 'time after coverage during which the insurer may not close',
  },
]
