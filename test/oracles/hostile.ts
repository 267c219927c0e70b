import { Ajv, type ValidateFunction } from 'ajv'
import fc from 'fast-check'
import { bytesToHex, hexToBytes, toHex, type Hex } from 'viem'
import { SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import type { InputRejection } from '../../engine/inputs/types.ts'
import {
  envelopeSchema,
  getSignerId,
  P256_N,
  readingToEnvelope,
  signReading,
  signAnswer,
  answerToEnvelope,
  textToBytes32,
  type OracleKey,
  type ReadingEnvelope,
} from '../../oracles/message/index.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { answerTopic } from '../../oracles/mqtt/answerTopic.ts'
import { randomBytes } from 'node:crypto'

/**
 * A random signature that is well formed and never verifies: a 64-byte P-256 `r || s` with a low
 * s, or for secp256k1 the same with a recovery byte (`1b`) appended.
 */
export function forgedSignature(curve: 'p256' | 'secp256k1' = 'p256'): Hex {
  const r = BigInt(bytesToHex(randomBytes(32))) % (P256_N - 1n)
  const s = BigInt(bytesToHex(randomBytes(32))) % (P256_N / 2n)
  const rs = `${toHex(r + 1n, { size: 32 })}${toHex(s + 1n, { size: 32 }).slice(2)}`
  return (curve === 'p256' ? rs : `${rs}1b`) as Hex
}

/** Fixed keys and clock for the hostile-payload tests. */
export const NOW_MS = 1_700_000_000_000
export const NOW_S = BigInt(NOW_MS / 1000)
export const CHAIN = 31337n
export const deviceKeys: Record<'secp256k1' | 'p256', OracleKey> = {
  secp256k1: {
    curve: 'secp256k1',
    privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
  },
  p256: { curve: 'p256', privateKey: '0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721' },
}
export const strangerKey: OracleKey = {
  curve: 'secp256k1',
  privateKey: '0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
}
export const oracleKey: OracleKey = {
  curve: 'secp256k1',
  privateKey: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
}
export const knownDevices = [getSignerId(deviceKeys.secp256k1), getSignerId(deviceKeys.p256)]
export const knownOracles = [getSignerId(oracleKey)]

/** A hostile (or valid) payload, the topic it is published on and the rejection it must get. */
export type Case = {
  name: string
  topic: string
  payload: string | Uint8Array
  expect: InputRejection | 'accept'
}

let nextSequence = 1_000n
/** A fresh, valid reading envelope (a new sequence each call). */
export function validReading(
  curve: 'secp256k1' | 'p256',
  over: { sequence?: bigint; timestamp?: bigint; chainId?: bigint; value?: bigint; key?: OracleKey } = {},
): ReadingEnvelope {
  const key = over.key ?? deviceKeys[curve]
  const reading = {
    device: getSignerId(key),
    sequence: over.sequence ?? nextSequence++,
    timestamp: over.timestamp ?? NOW_S,
    kind: textToBytes32('temperature'),
    value: over.value ?? 4_000n,
    unit: textToBytes32('mC'),
  }
  return readingToEnvelope(signReading({ chainId: over.chainId ?? CHAIN, reading, key }))
}

const ajv = new Ajv({ strict: true })
const fieldSchemas = new Map<string, ValidateFunction>()
/** Whether the envelope schema accepts `value` for `field` of a reading signed on `curve`. */
function fieldAccepts(curve: 'secp256k1' | 'p256', field: string, value: unknown): boolean {
  const variant = envelopeSchema.oneOf[curve === 'p256' ? 1 : 0]
  const schema = (variant.properties as Record<string, object>)[field]
  if (schema === undefined) return false
  const key = `${curve}/${field}`
  let validate = fieldSchemas.get(key)
  if (validate === undefined) fieldSchemas.set(key, (validate = ajv.compile(schema)))
  return validate(value)
}

const N = { secp256k1: SECP256K1_HALF_N * 2n + 1n, p256: P256_N }

function mutateSig(e: ReadingEnvelope, f: (b: Uint8Array) => void): ReadingEnvelope {
  const b = hexToBytes(e.signature as Hex)
  f(b)
  return { ...e, signature: bytesToHex(b) }
}

const curveArb = fc.constantFrom<'secp256k1' | 'p256'>('secp256k1', 'p256')
/** Every field a reading envelope has. */
const envelopeFields: readonly string[] = [
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
  'publicKey',
]
const fieldArb = fc.constantFrom(...envelopeFields)
const wrongValueArb = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  fc.string({ maxLength: 40 }),
  fc.constant(''),
  fc.constant('0x'),
  fc.constant('-1'),
  fc.constant('01'),
  fc.constant('1e3'),
  fc.constant('0xZZ'),
  fc.constant('x'.repeat(5000)),
  fc.constant('99999999999999999999999'),
)

/**
 * Arbitrary hostile payloads, each with the reason it must be rejected for. Signing is done per
 * case, so each replay or signature case is fresh.
 */
export function hostileCaseArb(): fc.Arbitrary<Case> {
  const topicOf = (e: ReadingEnvelope) => readingTopic(e.device as Hex)
  return fc.oneof(
    // Not JSON, not UTF-8, not an object, or any JSON value at all.
    fc.uint8Array({ maxLength: 300 }).map((b): Case => ({
      name: 'random bytes',
      topic: readingTopic(knownDevices[0] as Hex),
      payload: b,
      expect: 'schema',
    })),
    fc.jsonValue({ maxDepth: 3 }).map((j): Case => ({
      name: 'arbitrary JSON',
      topic: readingTopic(knownDevices[0] as Hex),
      payload: JSON.stringify(j) ?? 'null',
      expect: 'schema',
    })),
    fc.nat({ max: 40_000 }).map((n): Case => ({
      name: 'huge payload',
      topic: readingTopic(knownDevices[0] as Hex),
      payload: JSON.stringify({ ...validReading('secp256k1'), kind: 'k'.repeat(2100 + n) }),
      expect: 'schema',
    })),
    // One field replaced by a wrong type or out-of-format value.
    // (Values the field's own schema accepts, such as the text "1e3" as a unit, are left out: they
    // are not malformed, and fail later for their own reason.)
    fc
      .tuple(curveArb, fieldArb, wrongValueArb)
      .filter(([curve, field, value]) => !fieldAccepts(curve, field, value))
      .map(([curve, field, value]): Case => {
        const e = validReading(curve) as Record<string, unknown>
        return {
          name: `field ${field} = ${JSON.stringify(value)?.slice(0, 30)}`,
          topic: topicOf(e as ReadingEnvelope),
          payload: JSON.stringify({ ...e, [field]: value }),
          expect: 'schema',
        }
      }),
    // A field missing; an extra field.
    fc
      .tuple(curveArb, fieldArb)
      .map(([curve, field]): Case => {
        const full = validReading(curve)
        const e = { ...full } as Record<string, unknown>
        delete e[field]
        return {
          name: `missing ${field}`,
          topic: topicOf(full),
          payload: JSON.stringify(e),
          expect: field === 'publicKey' && curve === 'secp256k1' ? 'accept' : 'schema',
        }
      })
      .filter((c) => c.expect === 'schema'),
    fc
      .tuple(curveArb, fc.string({ minLength: 1, maxLength: 20 }), wrongValueArb)
      .filter(([, k]) => !envelopeFields.includes(k))
      .map(([curve, key, value]): Case => {
        const e = validReading(curve)
        return {
          name: `extra field ${key}`,
          topic: topicOf(e),
          payload: JSON.stringify({ ...e, [key]: value }),
          expect: 'schema',
        }
      }),
    // Bad hex: a non-hex character in the signature or device.
    fc.tuple(curveArb, fc.nat(), fc.constantFrom('g', 'Z', ' ', '-', 'é')).map(([curve, at, ch]): Case => {
      const e = validReading(curve)
      const i = 2 + (at % (e.signature.length - 2))
      return {
        name: 'bad hex',
        topic: topicOf(e),
        payload: JSON.stringify({ ...e, signature: e.signature.slice(0, i) + ch + e.signature.slice(i + 1) }),
        expect: 'schema',
      }
    }),
    // Flipped signature bits (r or s, not v: a secp256k1 v flip may still recover a key).
    fc.tuple(curveArb, fc.integer({ min: 0, max: 511 })).map(([curve, bit]): Case => {
      const e = mutateSig(validReading(curve), (b) => (b[bit >> 3] = (b[bit >> 3] ?? 0) ^ (1 << (bit & 7))))
      return {
        name: `flipped signature bit ${bit}`,
        topic: topicOf(e),
        payload: JSON.stringify(e),
        expect: 'signature',
      }
    }),
    // The high-s twin of a valid signature.
    curveArb.map((curve): Case => {
      const e = mutateSig(validReading(curve), (b) => {
        b.set(hexToBytes(toHex(N[curve] - BigInt(bytesToHex(b.subarray(32, 64))), { size: 32 })), 32)
        if (curve === 'secp256k1') b[64] = b[64] === 27 ? 28 : 27
      })
      return { name: 'high s', topic: topicOf(e), payload: JSON.stringify(e), expect: 'signature' }
    }),
    // Wrong curve label: the signature and key fields no longer fit the schema.
    curveArb.map((curve): Case => {
      const e = validReading(curve)
      return {
        name: 'wrong curve',
        topic: topicOf(e),
        payload: JSON.stringify({ ...e, curve: curve === 'p256' ? 'secp256k1' : 'p256' }),
        expect: 'schema',
      }
    }),
    // Old and future timestamps.
    fc.tuple(curveArb, fc.bigInt({ min: 301n, max: 10n ** 9n })).map(([curve, age]): Case => {
      const e = validReading(curve, { timestamp: NOW_S - age })
      return { name: `${age} s old`, topic: topicOf(e), payload: JSON.stringify(e), expect: 'stale' }
    }),
    fc.tuple(curveArb, fc.bigInt({ min: 31n, max: 10n ** 12n })).map(([curve, ahead]): Case => {
      const e = validReading(curve, { timestamp: NOW_S + ahead })
      return { name: `${ahead} s ahead`, topic: topicOf(e), payload: JSON.stringify(e), expect: 'future' }
    }),
    // Another chain: declared (wrong-chain), or signed for another chain but declared as ours (signature).
    fc
      .tuple(
        curveArb,
        fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).filter((c) => c !== CHAIN),
      )
      .map(([curve, chainId]): Case => {
        const e = validReading(curve, { chainId })
        return {
          name: `chain ${chainId}`,
          topic: topicOf(e),
          payload: JSON.stringify(e),
          expect: 'wrong-chain',
        }
      }),
    curveArb.map((curve): Case => {
      const e = validReading(curve, { chainId: 1n })
      return {
        name: 'signed for chain 1, claims ours',
        topic: topicOf(e),
        payload: JSON.stringify({ ...e, chainId: CHAIN.toString() }),
        expect: 'signature',
      }
    }),
    // Unknown signer, and a reading on another device's topic.
    fc.constant(null).map((): Case => {
      const e = validReading('secp256k1', { key: strangerKey })
      return {
        name: 'unknown device',
        topic: topicOf(e),
        payload: JSON.stringify(e),
        expect: 'unknown-signer',
      }
    }),
    curveArb.map((curve): Case => {
      const e = validReading(curve)
      return {
        name: 'wrong topic',
        topic: readingTopic(knownDevices[curve === 'p256' ? 0 : 1] as Hex),
        payload: JSON.stringify(e),
        expect: 'topic',
      }
    }),
    curveArb.map((curve): Case => {
      const e = validReading(curve)
      return {
        name: 'reading on an answers topic',
        topic: answerTopic(e.device as Hex),
        payload: JSON.stringify(e),
        expect: 'topic',
      }
    }),
  )
}

/** A valid answer envelope from the known oracle. */
export function validAnswer(questionId: Hex, timestamp: bigint = NOW_S): { topic: string; payload: string } {
  const signed = signAnswer({
    chainId: CHAIN,
    key: oracleKey,
    answer: { questionId, answer: textToBytes32('delivered'), timestamp },
  })
  return {
    topic: answerTopic(getSignerId(oracleKey)),
    payload: JSON.stringify(answerToEnvelope(signed, getSignerId(oracleKey))),
  }
}
