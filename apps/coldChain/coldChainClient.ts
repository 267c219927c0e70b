import {
  encodeAbiParameters,
  decodeAbiParameters,
  getAbiItem,
  keccak256,
  type AbiParameterToPrimitiveType,
  type Hex,
} from 'viem'
import { ColdChainInsurance } from './generated/ColdChainInsurance.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { oracleSignatureToStruct } from '../../oracles/message/oracleSignatureToStruct.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { Reading, SignedReading } from '../../oracles/message/types.ts'

const dataParam = getAbiItem({ abi: ColdChainInsurance.abi, name: 'encodeData' }).inputs[0]
const reportParams = getAbiItem({ abi: ColdChainInsurance.abi, name: 'encodeReport' }).inputs
const actionAbi = [{ type: 'uint8' }, { type: 'bytes' }] as const

/**
 * The ColdChainInsurance app's state, `abi.encode(Policy)`, typed from the compiled ABI.
 *
 * Terms: `owner`, `insurer` (participant indexes), `device` (the thermometer's bytes32 signer
 * id), `minValue`, `maxValue` (allowed range, inclusive, milli-degrees Celsius), `runLength` (N
 * consecutive out-of-range readings that pay out), `premium` (per period), `insuredSum`,
 * `periodSeconds`, `maxPeriods`, `claimWindow` (seconds after coverage during which the insurer
 * may not close yet).
 *
 * State: `periodsPaid`, `coverageStart`, `coverageEnd` (covered readings have
 * `coverageStart <= timestamp < coverageEnd`), `lastSequence` (last reading taken; replay
 * protection), `run` (current run of out-of-range readings), `claimed`.
 */
export type ColdChainPolicy = AbiParameterToPrimitiveType<typeof dataParam>

/** The terms of a policy: what {@link initialColdChainData} takes. */
export type ColdChainTerms = Pick<
  ColdChainPolicy,
  | 'owner'
  | 'insurer'
  | 'device'
  | 'minValue'
  | 'maxValue'
  | 'runLength'
  | 'premium'
  | 'insuredSum'
  | 'periodSeconds'
  | 'maxPeriods'
  | 'claimWindow'
>

/** The `kind` byte of each ColdChainInsurance action. */
export const ColdChainAction = { PAY_PREMIUM: 0, REPORT: 1, CLOSE: 2 } as const

/** The reading kind the app accepts: `textToBytes32('temperature')`. */
export const TEMPERATURE_KIND: Hex = textToBytes32('temperature')
/** The unit the app accepts: `textToBytes32('mC')`, milli-degrees Celsius. */
export const MILLI_CELSIUS_UNIT: Hex = textToBytes32('mC')

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const UINT64_MAX = (1n << 64n) - 1n

/**
 * A temperature reading as the app accepts it (kind "temperature", unit "mC"), ready for `signReading`.
 *
 * @example
 * ```ts
 * const signed = signReading({ chainId, key: thermometerKey, reading: temperatureReading({
 *   device: getSignerId(thermometerKey), sequence: 7n, timestamp: 1_700_000_060n, milliCelsius: -18_250n }) })
 * ```
 */
export function temperatureReading(opts: {
  device: Hex
  sequence: bigint
  timestamp: bigint
  milliCelsius: bigint
}): Reading {
  return {
    device: opts.device,
    sequence: opts.sequence,
    timestamp: opts.timestamp,
    kind: TEMPERATURE_KIND,
    value: opts.milliCelsius,
    unit: MILLI_CELSIUS_UNIT,
  }
}

/**
 * Encodes the ColdChainInsurance app data.
 *
 * @example
 * ```ts
 * const appData = encodeColdChainData({ ...decodeColdChainData(state.appData), lastSequence: 9n })
 * ```
 */
export function encodeColdChainData(d: ColdChainPolicy): Hex {
  return encodeAbiParameters([dataParam], [d])
}

/**
 * Decodes the ColdChainInsurance app data.
 *
 * @example
 * ```ts
 * const { coverageEnd, run, claimed } = decodeColdChainData(state.appData)
 * ```
 */
export function decodeColdChainData(appData: Hex): ColdChainPolicy {
  const [d] = decodeAbiParameters([dataParam], appData)
  return d
}

/**
 * The app data of a fresh policy: nothing paid, no coverage, no reading taken. Throws
 * `INVALID_ARGUMENT` for terms that make no sense: owner = insurer, `minValue > maxValue`,
 * `runLength` 0, a zero period or term, an insured sum of 0, or times that could overflow uint64.
 *
 * @example
 * ```ts
 * const appData = initialColdChainData({ owner: 0, insurer: 1, device: getSignerId(thermometerKey),
 *   minValue: -25_000n, maxValue: -15_000n, runLength: 3, premium: 10n ** 15n, insuredSum: 10n ** 18n,
 *   periodSeconds: 3_600n, maxPeriods: 24n, claimWindow: 600n })
 * ```
 */
export function initialColdChainData(terms: ColdChainTerms): Hex {
  const bad = (why: string) => new ChanvmError('INVALID_ARGUMENT', `ColdChainInsurance terms: ${why}`)
  if (terms.owner === terms.insurer) throw bad('owner and insurer must be different participants')
  if (terms.minValue < INT64_MIN || terms.maxValue > INT64_MAX || terms.minValue > terms.maxValue)
    throw bad('minValue <= maxValue, both int64')
  if (!Number.isInteger(terms.runLength) || terms.runLength < 1 || terms.runLength > 0xffff)
    throw bad('runLength must be 1..65535')
  if (terms.insuredSum <= 0n || terms.premium < 0n)
    throw bad('insuredSum must be positive, premium not negative')
  if (terms.periodSeconds <= 0n || terms.maxPeriods <= 0n)
    throw bad('periodSeconds and maxPeriods must be positive')
  // coverage may reach now + maxPeriods * periodSeconds (+ claimWindow): keep it far from 2^64
  if (terms.periodSeconds * terms.maxPeriods + terms.claimWindow > UINT64_MAX >> 2n || terms.claimWindow < 0n)
    throw bad('coverage times overflow uint64')
  return encodeColdChainData({
    ...terms,
    periodsPaid: 0n,
    coverageStart: 0n,
    coverageEnd: 0n,
    lastSequence: 0n,
    run: 0,
    claimed: false,
  })
}

/** Actions whose body is empty. */
const bare = (kind: number): Hex => encodeAbiParameters(actionAbi, [kind, '0x'])

/**
 * Typed builders for the ColdChainInsurance app's actions. `report` takes readings as
 * `signReading` returns them (secp256k1 or P-256 thermometers), in increasing sequence order.
 *
 * @example
 * ```ts
 * await owner.update(channelId, coldChainActions.payPremium())
 * await owner.update(channelId, coldChainActions.report([r41, r42, r43]))
 * ```
 */
export const coldChainActions = {
  /** Owner: pay one period's premium to the insurer (starts or extends coverage). */
  payPremium: (): Hex => bare(ColdChainAction.PAY_PREMIUM),
  /** Owner: hand in signed readings; a run of `runLength` out of range pays `insuredSum`. */
  report: (readings: readonly SignedReading[]): Hex =>
    encodeAbiParameters(actionAbi, [
      ColdChainAction.REPORT,
      encodeAbiParameters(reportParams, [
        readings.map((r) => ({ reading: r.reading, sig: oracleSignatureToStruct(r.signature) })),
      ]),
    ]),
  /** Owner at any time; insurer once `coverageEnd + claimWindow` has passed. */
  close: (): Hex => bare(ColdChainAction.CLOSE),
}

/**
 * The ColdChainInsurance app as parties and the Adjudicator client take it.
 *
 * @example
 * ```ts
 * const params = { ...base, appCodeHash: coldChainApp.codeHash }
 * const party = await createParty({ ..., apps: [coldChainApp] })
 * ```
 */
export const coldChainApp = {
  abi: ColdChainInsurance.abi,
  code: ColdChainInsurance.deployedBytecode,
  codeHash: keccak256(ColdChainInsurance.deployedBytecode),
} as const
