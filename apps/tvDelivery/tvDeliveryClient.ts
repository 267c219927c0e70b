import {
  encodeAbiParameters,
  decodeAbiParameters,
  getAbiItem,
  keccak256,
  stringToHex,
  type AbiParameterToPrimitiveType,
  type Hex,
} from 'viem'
import { TvDelivery } from './generated/TvDelivery.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { oracleSignatureToStruct } from '../../oracles/message/oracleSignatureToStruct.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { Answer, SignedAnswer } from '../../oracles/message/types.ts'

const dataParam = getAbiItem({ abi: TvDelivery.abi, name: 'encodeData' }).inputs[0]
const claimParams = getAbiItem({ abi: TvDelivery.abi, name: 'encodeClaim' }).inputs
const actionAbi = [{ type: 'uint8' }, { type: 'bytes' }] as const

/**
 * The TvDelivery app's state, `abi.encode(TvData)`, typed from the compiled ABI:
 * `buyer`, `seller` (participant indexes), `trackingId` (the carrier's id; oracles answer
 * `keccak256(utf8(trackingId))`), `oracles` (bytes32 signer ids), `quorum` (k), `price` (wei),
 * `deadline` (block number from which the buyer may take a refund), `status` ({@link TvDeliveryStatus}).
 */
export type TvDeliveryData = AbiParameterToPrimitiveType<typeof dataParam>

/** `TvData.status` values. */
export const TvDeliveryStatus = { OPEN: 0, PAID: 1, DELIVERED: 2, REFUNDED: 3, CLOSED: 4 } as const

/** The `kind` byte of each TvDelivery action. */
export const TvDeliveryAction = { PAY: 0, CLAIM: 1, REFUND: 2, CLOSE: 3 } as const

/** The answer an oracle signs when the parcel arrived: `textToBytes32('delivered')`. */
export const DELIVERED_ANSWER: Hex = textToBytes32('delivered')

/** Longest tracking id accepted by {@link initialTvDeliveryData}, in bytes (UTF-8). */
export const MAX_TRACKING_ID_BYTES = 128

/**
 * The question id oracles answer for a tracking id: `keccak256(utf8(trackingId))`.
 *
 * @example
 * ```ts
 * trackingQuestionId('1Z999AA10123456784') // 0x…
 * ```
 */
export function trackingQuestionId(trackingId: string): Hex {
  return keccak256(stringToHex(trackingId))
}

/**
 * The answer an oracle signs about a parcel (by default "delivered"), ready for `signAnswer`.
 *
 * @example
 * ```ts
 * const signed = signAnswer({ chainId, key: oracleKey, answer: deliveryAnswer({ trackingId, timestamp: 1_700_000_000n }) })
 * ```
 */
export function deliveryAnswer(opts: { trackingId: string; timestamp: bigint; answer?: string }): Answer {
  return {
    questionId: trackingQuestionId(opts.trackingId),
    answer: opts.answer === undefined ? DELIVERED_ANSWER : textToBytes32(opts.answer),
    timestamp: opts.timestamp,
  }
}

/**
 * Encodes the TvDelivery app data.
 *
 * @example
 * ```ts
 * const appData = encodeTvDeliveryData({ ...decodeTvDeliveryData(state.appData), status: TvDeliveryStatus.PAID })
 * ```
 */
export function encodeTvDeliveryData(d: TvDeliveryData): Hex {
  return encodeAbiParameters([dataParam], [d])
}

/**
 * Decodes the TvDelivery app data.
 *
 * @example
 * ```ts
 * const { status, price } = decodeTvDeliveryData(state.appData)
 * ```
 */
export function decodeTvDeliveryData(appData: Hex): TvDeliveryData {
  const [d] = decodeAbiParameters([dataParam], appData)
  return d
}

/**
 * The app data of a fresh purchase (status OPEN, nothing paid). Throws `INVALID_ARGUMENT` for
 * terms the contract would refuse later: buyer = seller, an empty or too long tracking id, no
 * oracles or a repeated one, a quorum outside 1..oracles.length, a zero price.
 *
 * @example
 * ```ts
 * const appData = initialTvDeliveryData({ buyer: 0, seller: 1, trackingId: 'TRACK-1',
 *   oracles: [getSignerId(o1), getSignerId(o2), getSignerId(o3)], quorum: 2, price: 10n ** 18n, deadline: 5_000n })
 * ```
 */
export function initialTvDeliveryData(opts: {
  buyer: number
  seller: number
  trackingId: string
  oracles: readonly Hex[]
  quorum: number
  price: bigint
  deadline: bigint
}): Hex {
  const bad = (why: string) => new ChanvmError('INVALID_ARGUMENT', `TvDelivery terms: ${why}`)
  if (opts.buyer === opts.seller) throw bad('buyer and seller must be different participants')
  const idBytes = new TextEncoder().encode(opts.trackingId).length
  if (idBytes === 0 || idBytes > MAX_TRACKING_ID_BYTES)
    throw bad(`tracking id must be 1-${MAX_TRACKING_ID_BYTES} bytes`)
  if (opts.oracles.length === 0 || opts.oracles.length > 256) throw bad('1 to 256 oracles')
  if (new Set(opts.oracles.map((o) => o.toLowerCase())).size !== opts.oracles.length)
    throw bad('an oracle is listed twice')
  if (!Number.isInteger(opts.quorum) || opts.quorum < 1 || opts.quorum > opts.oracles.length)
    throw bad(`quorum must be 1..${opts.oracles.length}`)
  if (opts.price <= 0n) throw bad('price must be positive')
  return encodeTvDeliveryData({ ...opts, oracles: [...opts.oracles], status: TvDeliveryStatus.OPEN })
}

/** Actions whose body is empty. */
const bare = (kind: number): Hex => encodeAbiParameters(actionAbi, [kind, '0x'])

/**
 * Typed builders for the TvDelivery app's actions. `claim` takes the oracles' signed answers as
 * `signAnswer` returns them (secp256k1 or P-256), one per oracle, in any order.
 *
 * @example
 * ```ts
 * await buyer.update(channelId, tvDeliveryActions.pay())
 * await seller.update(channelId, tvDeliveryActions.claim([answer1, answer3]))
 * ```
 */
export const tvDeliveryActions = {
  /** Buyer: lock the price (status OPEN to PAID). */
  pay: (): Hex => bare(TvDeliveryAction.PAY),
  /** Seller: take the price with answers "delivered" from at least `quorum` distinct listed oracles. */
  claim: (answers: readonly SignedAnswer[]): Hex =>
    encodeAbiParameters(actionAbi, [
      TvDeliveryAction.CLAIM,
      encodeAbiParameters(claimParams, [
        answers.map((a) => ({ answer: a.answer, sig: oracleSignatureToStruct(a.signature) })),
      ]),
    ]),
  /** Buyer: take the price back once `env.blockNumber >= deadline` (no claim came first). */
  refund: (): Hex => bare(TvDeliveryAction.REFUND),
  /** Either party: end an unpaid purchase. */
  close: (): Hex => bare(TvDeliveryAction.CLOSE),
}

/**
 * The TvDelivery app as parties and the Adjudicator client take it.
 *
 * @example
 * ```ts
 * const params = { ...base, appCodeHash: tvDeliveryApp.codeHash }
 * const party = await createParty({ ..., apps: [tvDeliveryApp] })
 * ```
 */
export const tvDeliveryApp = {
  abi: TvDelivery.abi,
  code: TvDelivery.deployedBytecode,
  codeHash: keccak256(TvDelivery.deployedBytecode),
} as const
