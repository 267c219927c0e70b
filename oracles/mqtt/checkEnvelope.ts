import { Ajv } from 'ajv'
import type { Hex } from 'viem'
import { envelopeSchema, MAX_ENVELOPE_BYTES, type Envelope } from '../message/envelopeSchema.ts'
import { envelopeToSigned, type EnvelopeContent } from '../message/envelopeToSigned.ts'
import { hashAnswer } from '../message/hashAnswer.ts'
import { hashReading } from '../message/hashReading.ts'
import { p256PublicKeyToSignerId } from '../message/p256PublicKeyToSignerId.ts'
import { verifyOracleSignature } from '../message/verifyOracleSignature.ts'
import { parseStrictJson } from './parseStrictJson.ts'

/** What {@link checkEnvelope} needs besides the message: plain data, so that a worker thread can hold it. */
export type EnvelopeCheckSettings = {
  /** The chain the channels live on. */
  chainId: bigint
  /** Oldest acceptable timestamp, in seconds before `nowMs`. */
  maxAgeSec: number
  /** Furthest acceptable timestamp, in seconds after `nowMs`. */
  maxFutureSec: number
}

/** One message to check, as it arrived. */
export type EnvelopeJob = {
  topic: string
  payload: Uint8Array | string
  /** Retained by the broker (never fresh evidence). */
  retained?: boolean
  /**
   * Whether the signer the topic names is on the allow list of its role. Read only once the
   * payload's signer was found equal to the topic's, so it decides `unknown-signer` exactly.
   */
  allowed: boolean
}

/** The verdicts {@link checkEnvelope} reaches: every one of the validator's but the replay memory's. */
export type EnvelopeVerdictName =
  | 'retained'
  | 'malformed'
  | 'schema'
  | 'wrong-chain'
  | 'topic'
  | 'unknown-signer'
  | 'stale'
  | 'future'
  | 'bad-signature'

/** The stateless verdict on one message: its typed content and digest, or why it is refused. */
export type CheckedEnvelope =
  | { ok: true; content: EnvelopeContent; digest: Hex }
  | { ok: false; verdict: EnvelopeVerdictName; detail: string }

const TOPIC_RE = /^chanvm\/v1\/(devices|oracles)\/(0x[0-9a-f]{64})\/(readings|answers)$/

let compiled: ((data: unknown) => boolean) | undefined
function schemaCheck(): (data: unknown) => boolean {
  if (compiled === undefined) {
    const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: false })
    compiled = ajv.compile(envelopeSchema)
  }
  return compiled
}

/**
 * Compiles the envelope schema now rather than on the first message checked (tens of
 * milliseconds): a verifier thread does it while it loads.
 *
 * @example
 * ```ts
 * prepareEnvelopeCheck()
 * ```
 */
export function prepareEnvelopeCheck(): void {
  schemaCheck()
}

const decoder = new TextDecoder('utf-8', { fatal: true })

const refuse = (verdict: EnvelopeVerdictName, detail: string): CheckedEnvelope => ({
  ok: false,
  verdict,
  detail,
})

function check(job: EnvelopeJob, settings: EnvelopeCheckSettings, nowMs: number): CheckedEnvelope {
  const { topic, payload } = job
  if (job.retained === true) return refuse('retained', 'a retained message is never fresh evidence')
  const size =
    typeof payload !== 'string'
      ? payload.byteLength
      : payload.length > MAX_ENVELOPE_BYTES
        ? payload.length
        : Buffer.byteLength(payload, 'utf8')
  if (size > MAX_ENVELOPE_BYTES)
    return refuse('malformed', `payload of ${size} bytes exceeds ${MAX_ENVELOPE_BYTES}`)
  let text: string
  try {
    text = typeof payload === 'string' ? payload : decoder.decode(payload)
  } catch {
    return refuse('malformed', 'payload is not UTF-8')
  }
  const parsed = parseStrictJson(text)
  if (!parsed.ok) return refuse('malformed', `payload is not strict JSON: ${parsed.reason}`)
  if (!schemaCheck()(parsed.value)) return refuse('schema', 'payload does not match the envelope schema')
  const content = envelopeToSigned(parsed.value as Envelope)
  if (content === undefined) return refuse('schema', 'a number is out of range')
  const { signer } = content
  if (content.signed.chainId !== settings.chainId)
    return refuse('wrong-chain', `chain ${content.signed.chainId}, expected ${settings.chainId}`)

  const m = TOPIC_RE.exec(topic)
  const expected = content.type === 'reading' ? ['devices', 'readings'] : ['oracles', 'answers']
  if (m === null || m[1] !== expected[0] || m[3] !== expected[1] || m[2] !== signer) {
    return refuse('topic', `a ${content.type} from ${signer} does not belong on ${topic.slice(0, 200)}`)
  }
  if (!job.allowed)
    return refuse(
      'unknown-signer',
      `${content.type === 'reading' ? 'device' : 'oracle'} ${signer} is not allowed`,
    )

  const timestamp =
    content.type === 'reading' ? content.signed.reading.timestamp : content.signed.answer.timestamp
  const nowSec = BigInt(Math.floor(nowMs / 1000))
  if (timestamp < nowSec - BigInt(settings.maxAgeSec))
    return refuse('stale', `timestamp ${timestamp} is more than ${settings.maxAgeSec} s old`)
  if (timestamp > nowSec + BigInt(settings.maxFutureSec))
    return refuse('future', `timestamp ${timestamp} is more than ${settings.maxFutureSec} s ahead`)

  // A P-256 key names its signer by its hash: check that before the (costly) verification.
  const claimed = content.signed.signature
  if (claimed.curve === 'p256' && p256PublicKeyToSignerId(claimed.publicKey) !== signer)
    return refuse('bad-signature', 'signature refused: wrong-signer')
  const digest =
    content.type === 'reading'
      ? hashReading(content.signed.chainId, content.signed.reading)
      : hashAnswer(content.signed.chainId, content.signed.answer)
  const verdict = verifyOracleSignature(digest, content.signed.signature)
  if (!verdict.ok) return refuse('bad-signature', `signature refused: ${verdict.reason}`)
  if (verdict.signer !== signer) return refuse('bad-signature', 'signature refused: wrong-signer')
  return { ok: true, content, digest }
}

/**
 * The stateless part of the input validator, in its order: retained (`retained`); size, UTF-8,
 * JSON syntax and duplicate keys (`malformed`); JSON Schema and number ranges (`schema`); chain id
 * (`wrong-chain`), topic agrees with the signer (`topic`), allow list (`unknown-signer`), time
 * window against `nowMs` (`stale`, `future`); the signature (`bad-signature`). What passes comes
 * back with its typed content and EIP-712 digest, for the replay memory to judge. Pure (no state
 * but a compiled schema), so it runs on any thread; never throws on any payload.
 *
 * @example
 * ```ts
 * const checked = checkEnvelope({ topic, payload, allowed: true }, { chainId: 31337n, maxAgeSec: 300, maxFutureSec: 30 }, Date.now())
 * if (!checked.ok) console.log(checked.verdict, checked.detail)
 * ```
 */
export function checkEnvelope(
  job: EnvelopeJob,
  settings: EnvelopeCheckSettings,
  nowMs: number,
): CheckedEnvelope {
  try {
    return check(job, settings, nowMs)
  } catch (e) {
    // Defence in depth: no payload may throw out of the pipeline.
    return refuse('malformed', `payload could not be processed: ${(e as Error).message.split('\n')[0] ?? ''}`)
  }
}
