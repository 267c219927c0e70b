import type { Hex } from 'viem'
import { textToBytes32 } from './textToBytes32.ts'
import type { Envelope } from './envelopeSchema.ts'
import type { OracleSignature, SignedAnswer, SignedReading } from './types.ts'

const UINT64_MAX = (1n << 64n) - 1n
const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n

/** A schema-valid envelope as typed data, or `undefined` when a number is out of its range. */
export type EnvelopeContent =
  | { type: 'reading'; signer: Hex; signed: SignedReading }
  | { type: 'answer'; signer: Hex; signed: SignedAnswer }

/**
 * Converts an envelope that passed `envelopeSchema` into typed data: decimal strings to bigints
 * (range-checked: uint64, int64; chain id up to 2^64 - 1), text to bytes32, hex to lower case.
 * Returns `undefined` when a value is out of range (the validator counts that as `schema`).
 *
 * @example
 * ```ts
 * const content = envelopeToSigned(envelope)
 * if (content?.type === 'reading') verifyReading(content.signed)
 * ```
 */
export function envelopeToSigned(e: Envelope): EnvelopeContent | undefined {
  const chainId = BigInt(e.chainId)
  const timestamp = BigInt(e.timestamp)
  if (chainId > UINT64_MAX || timestamp > UINT64_MAX) return undefined
  const signature: OracleSignature =
    e.curve === 'p256'
      ? {
          curve: 'p256',
          signature: e.signature.toLowerCase() as Hex,
          publicKey: (e.publicKey ?? '0x').toLowerCase() as Hex,
        }
      : { curve: 'secp256k1', signature: e.signature.toLowerCase() as Hex }
  if (e.type === 'reading') {
    const sequence = BigInt(e.sequence)
    const value = BigInt(e.value)
    if (sequence > UINT64_MAX || value < INT64_MIN || value > INT64_MAX) return undefined
    const device = e.device.toLowerCase() as Hex
    const reading = {
      device,
      sequence,
      timestamp,
      kind: textToBytes32(e.kind),
      value,
      unit: textToBytes32(e.unit),
    }
    return { type: 'reading', signer: device, signed: { chainId, reading, signature } }
  }
  const answer = {
    questionId: e.questionId.toLowerCase() as Hex,
    answer: e.answer.toLowerCase() as Hex,
    timestamp,
  }
  return { type: 'answer', signer: e.oracle.toLowerCase() as Hex, signed: { chainId, answer, signature } }
}
