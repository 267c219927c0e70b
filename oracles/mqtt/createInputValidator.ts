import { Ajv } from 'ajv'
import type { Hex } from 'viem'
import type { InputRejection, VerifiedInput } from '../../engine/inputs/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { envelopeSchema, MAX_ENVELOPE_BYTES, type Envelope } from '../message/envelopeSchema.ts'
import { envelopeToSigned } from '../message/envelopeToSigned.ts'
import { hashAnswer } from '../message/hashAnswer.ts'
import { hashReading } from '../message/hashReading.ts'
import { p256PublicKeyToSignerId } from '../message/p256PublicKeyToSignerId.ts'
import { verifyOracleSignature } from '../message/verifyOracleSignature.ts'

/** Options of {@link createInputValidator}. */
export type InputValidatorOptions = {
  /** The chain the channels live on; messages bound to another chain are `wrong-chain`. */
  chainId: bigint
  /** Device signer ids whose readings are accepted, or `'any'`. Default: none. */
  devices?: readonly Hex[] | 'any'
  /** Oracle signer ids whose answers are accepted, or `'any'`. Default: none. */
  oracles?: readonly Hex[] | 'any'
  /** Oldest acceptable timestamp, in seconds before now. Default 300. */
  maxAgeSec?: number
  /** Furthest acceptable timestamp, in seconds after now (clock skew). Default 30. */
  maxFutureSec?: number
  /** The local clock in milliseconds. Default `Date.now`. */
  now?: () => number
  /** Most replay streams (signer, stream) remembered; the oldest is forgotten beyond. Default 100,000. */
  maxStreams?: number
}

/** The verdict on one payload. */
export type InputVerdict =
  { ok: true; input: VerifiedInput } | { ok: false; reason: InputRejection; detail: string }

/** The validation pipeline of the MQTT input source, usable on its own (tests, other transports). */
export type InputValidator = {
  /**
   * Checks one payload received on `topic` and, when it is accepted, records it for replay
   * protection. Never throws on any payload.
   */
  check(topic: string, payload: Uint8Array | string, flags?: { retained?: boolean }): InputVerdict
  /** Adds a signer id to the allow list of devices or oracles. */
  allow(role: 'device' | 'oracle', signer: Hex): void
  /**
   * Undoes the acceptance of `input` when it is still the latest of its stream (its handler failed
   * and the broker will send it again): the copy is then accepted, not counted as `duplicate`.
   * Returns whether it did; once a newer message of the stream was accepted the copy is a `replay`.
   */
  forget(input: VerifiedInput): boolean
}

/** How many recent sequence numbers per stream are remembered to tell a duplicate from a replay. */
const RECENT = 64
const TOPIC_RE = /^chanvm\/v1\/(devices|oracles)\/(0x[0-9a-f]{64})\/(readings|answers)$/

type Stream = { last: bigint; recent: bigint[] }

let compiled: ((data: unknown) => boolean) | undefined
function schemaCheck(): (data: unknown) => boolean {
  if (compiled === undefined) {
    const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: false })
    compiled = ajv.compile(envelopeSchema)
  }
  return compiled
}

function allowSet(list: readonly Hex[] | 'any' | undefined): Set<string> | 'any' {
  if (list === 'any') return 'any'
  return new Set((list ?? []).map((s) => s.toLowerCase()))
}

/**
 * Creates the validation pipeline every device reading and oracle answer goes through before it
 * can reach the engine, in this order (cheapest first, cryptography last): retained, size and JSON
 * and JSON Schema (`schema`), chain id (`wrong-chain`), topic agrees with the signer (`topic`),
 * allow list (`unknown-signer`), time window (`stale`, `future`), (signer, sequence) already taken
 * (`duplicate`) or not above the last one (`replay`), signature (`signature`). Only an accepted
 * message changes the replay state.
 *
 * @example
 * ```ts
 * const v = createInputValidator({ chainId: 31337n, devices: [deviceId] })
 * const verdict = v.check(readingTopic(deviceId), JSON.stringify(readingToEnvelope(signed)))
 * if (!verdict.ok) console.log(verdict.reason, verdict.detail)
 * ```
 */
export function createInputValidator(options: InputValidatorOptions): InputValidator {
  const maxAgeSec = options.maxAgeSec ?? 300
  const maxFutureSec = options.maxFutureSec ?? 30
  const maxStreams = options.maxStreams ?? 100_000
  if (!(maxAgeSec >= 0) || !(maxFutureSec >= 0) || !(maxStreams >= 1)) {
    throw new ChanvmError('INVALID_ARGUMENT', 'maxAgeSec and maxFutureSec must be >= 0, maxStreams >= 1')
  }
  const now = options.now ?? Date.now
  const devices = allowSet(options.devices)
  const oracles = allowSet(options.oracles)
  const streams = new Map<string, Stream>()
  const validate = schemaCheck()
  const decoder = new TextDecoder('utf-8', { fatal: true })

  const reject = (reason: InputRejection, detail: string): InputVerdict => ({ ok: false, reason, detail })

  function check(
    topic: string,
    payload: Uint8Array | string,
    flags: { retained?: boolean } = {},
  ): InputVerdict {
    if (flags.retained === true) return reject('retained', 'a retained message is never fresh evidence')
    const size = typeof payload === 'string' ? payload.length : payload.byteLength
    if (size > MAX_ENVELOPE_BYTES)
      return reject('schema', `payload of ${size} bytes exceeds ${MAX_ENVELOPE_BYTES}`)
    let data: unknown
    try {
      data = JSON.parse(typeof payload === 'string' ? payload : decoder.decode(payload))
    } catch {
      return reject('schema', 'payload is not UTF-8 JSON')
    }
    if (!validate(data)) return reject('schema', 'payload does not match the envelope schema')
    const envelope = data as Envelope
    const content = envelopeToSigned(envelope)
    if (content === undefined) return reject('schema', 'a number is out of range')
    const { signer } = content
    if (content.signed.chainId !== options.chainId)
      return reject('wrong-chain', `chain ${content.signed.chainId}, expected ${options.chainId}`)

    const m = TOPIC_RE.exec(topic)
    const expected = content.type === 'reading' ? ['devices', 'readings'] : ['oracles', 'answers']
    if (m === null || m[1] !== expected[0] || m[3] !== expected[1] || m[2] !== signer) {
      return reject('topic', `a ${content.type} from ${signer} does not belong on ${topic.slice(0, 200)}`)
    }
    const allowed = content.type === 'reading' ? devices : oracles
    if (allowed !== 'any' && !allowed.has(signer))
      return reject(
        'unknown-signer',
        `${content.type === 'reading' ? 'device' : 'oracle'} ${signer} is not allowed`,
      )

    const timestamp =
      content.type === 'reading' ? content.signed.reading.timestamp : content.signed.answer.timestamp
    const nowSec = BigInt(Math.floor(now() / 1000))
    if (timestamp < nowSec - BigInt(maxAgeSec))
      return reject('stale', `timestamp ${timestamp} is more than ${maxAgeSec} s old`)
    if (timestamp > nowSec + BigInt(maxFutureSec))
      return reject('future', `timestamp ${timestamp} is more than ${maxFutureSec} s ahead`)

    const streamName = content.type === 'reading' ? 'readings' : content.signed.answer.questionId
    const sequence = content.type === 'reading' ? content.signed.reading.sequence : timestamp
    const key = `${signer}/${streamName}`
    const stream = streams.get(key)
    if (stream !== undefined) {
      if (stream.recent.includes(sequence))
        return reject('duplicate', `${signer} sequence ${sequence} was already taken`)
      if (sequence <= stream.last)
        return reject('replay', `${signer} sequence ${sequence} is not above ${stream.last}`)
    }

    // A P-256 key names its signer by its hash: check that before the (costly) verification.
    const claimed = content.signed.signature
    if (claimed.curve === 'p256' && p256PublicKeyToSignerId(claimed.publicKey) !== signer)
      return reject('signature', 'signature refused: wrong-signer')
    const digest =
      content.type === 'reading'
        ? hashReading(content.signed.chainId, content.signed.reading)
        : hashAnswer(content.signed.chainId, content.signed.answer)
    const verdict = verifyOracleSignature(digest, content.signed.signature)
    if (!verdict.ok) return reject('signature', `signature refused: ${verdict.reason}`)
    if (verdict.signer !== signer) return reject('signature', 'signature refused: wrong-signer')

    if (stream === undefined) {
      if (streams.size >= maxStreams) {
        const oldest = streams.keys().next()
        if (oldest.done !== true) streams.delete(oldest.value)
      }
      streams.set(key, { last: sequence, recent: [sequence] })
    } else {
      stream.last = sequence
      stream.recent.push(sequence)
      if (stream.recent.length > RECENT) stream.recent.shift()
    }
    const sig = content.signed.signature
    const input: VerifiedInput = {
      kind: content.type,
      signer,
      sequence,
      stream: streamName,
      chainId: content.signed.chainId,
      message: content.type === 'reading' ? { ...content.signed.reading } : { ...content.signed.answer },
      digest,
      curve: sig.curve,
      signature: sig.signature,
      publicKey: sig.curve === 'p256' ? sig.publicKey : undefined,
      topic,
      receivedAt: now(),
    }
    return { ok: true, input }
  }

  return {
    check(topic, payload, flags) {
      try {
        return check(topic, payload, flags)
      } catch (e) {
        // Defence in depth: no payload may throw out of the pipeline.
        return reject(
          'schema',
          `payload could not be processed: ${(e as Error).message.split('\n')[0] ?? ''}`,
        )
      }
    },
    allow(role, signer) {
      const set = role === 'device' ? devices : oracles
      if (set !== 'any') set.add(signer.toLowerCase())
    },
    forget(input) {
      const key = `${input.signer}/${input.stream}`
      const stream = streams.get(key)
      if (stream === undefined || stream.last !== input.sequence) return false
      // Accepted sequences increase strictly, so the one before is the previous entry of `recent`.
      stream.recent.pop()
      const previous = stream.recent[stream.recent.length - 1]
      if (previous === undefined) streams.delete(key)
      else stream.last = previous
      return true
    },
  }
}
