import { BYTES32_TEXT_PATTERN } from './textToBytes32.ts'

/** Largest MQTT payload the validator parses at all, in bytes. A P-256 reading is about 560. */
export const MAX_ENVELOPE_BYTES = 2048

const hex32 = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$', minLength: 66, maxLength: 66 } as const
const uint64 = { type: 'string', pattern: '^(0|[1-9][0-9]{0,19})$', maxLength: 20 } as const
const int64 = { type: 'string', pattern: '^(0|-?[1-9][0-9]{0,18})$', maxLength: 20 } as const
const text = { type: 'string', pattern: BYTES32_TEXT_PATTERN, minLength: 1, maxLength: 32 } as const
const secpSig = { type: 'string', pattern: '^0x[0-9a-fA-F]{130}$', minLength: 132, maxLength: 132 } as const
const p256Sig = { type: 'string', pattern: '^0x[0-9a-fA-F]{128}$', minLength: 130, maxLength: 130 } as const
const p256Key = p256Sig

const readingFields = {
  v: { const: 1 },
  type: { const: 'reading' },
  chainId: uint64,
  device: hex32,
  sequence: uint64,
  timestamp: uint64,
  kind: text,
  value: int64,
  unit: text,
} as const
const readingRequired = [
  'v',
  'type',
  'chainId',
  'device',
  'sequence',
  'timestamp',
  'kind',
  'value',
  'unit',
  'curve',
  'signature',
] as const

const answerFields = {
  v: { const: 1 },
  type: { const: 'answer' },
  chainId: uint64,
  oracle: hex32,
  questionId: hex32,
  answer: hex32,
  timestamp: uint64,
} as const
const answerRequired = [
  'v',
  'type',
  'chainId',
  'oracle',
  'questionId',
  'answer',
  'timestamp',
  'curve',
  'signature',
] as const

const variant = (fields: object, required: readonly string[], curve: 'secp256k1' | 'p256') => ({
  type: 'object',
  additionalProperties: false,
  required: curve === 'p256' ? [...required, 'publicKey'] : [...required],
  properties:
    curve === 'p256'
      ? { ...fields, curve: { const: 'p256' }, publicKey: p256Key, signature: p256Sig }
      : { ...fields, curve: { const: 'secp256k1' }, signature: secpSig },
})

/**
 * The JSON Schema (draft-07, ajv strict) of the MQTT envelope of a signed reading or answer: a flat
 * object with no extra properties, every number a bounded decimal string, every byte string
 * `0x`-hex of its exact length, text 1 to 32 printable ASCII characters. `publicKey` is required
 * for P-256 and forbidden for secp256k1. docs/messages.md specifies it field by field.
 */
export const envelopeSchema = {
  $id: 'https://chanvm.dev/schemas/oracle-envelope-v1.json',
  oneOf: [
    variant(readingFields, readingRequired, 'secp256k1'),
    variant(readingFields, readingRequired, 'p256'),
    variant(answerFields, answerRequired, 'secp256k1'),
    variant(answerFields, answerRequired, 'p256'),
  ],
} as const

/** An envelope that passed `envelopeSchema`: all values still strings. */
export type ReadingEnvelope = {
  v: 1
  type: 'reading'
  chainId: string
  device: string
  sequence: string
  timestamp: string
  kind: string
  value: string
  unit: string
  curve: 'secp256k1' | 'p256'
  publicKey?: string
  signature: string
}
export type AnswerEnvelope = {
  v: 1
  type: 'answer'
  chainId: string
  oracle: string
  questionId: string
  answer: string
  timestamp: string
  curve: 'secp256k1' | 'p256'
  publicKey?: string
  signature: string
}
export type Envelope = ReadingEnvelope | AnswerEnvelope
