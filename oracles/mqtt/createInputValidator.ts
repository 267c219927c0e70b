import type { Hex } from 'viem'
import type { InputRejection, InputRejectionVerdict, VerifiedInput } from '../../engine/inputs/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { checkEnvelope, type CheckedEnvelope, type EnvelopeCheckSettings } from './checkEnvelope.ts'
import { createReplayMemory, type ReplayMemory } from './createReplayMemory.ts'
import { MAX_REPLAY_WINDOW } from './slideReplayWindow.ts'
import { replayEntryOf, type ReplayStore } from './replayStore.ts'

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
  /**
   * Most streams (a device's readings; an oracle's answers to one question) with a replay
   * window. Windows are never forgotten: a new stream beyond the bound is `too-many-signers`.
   * Default 100,000.
   */
  maxStreams?: number
  /**
   * Most accepted messages remembered with their digest (least recently used forgotten first), to
   * tell a `duplicate` from an `equivocation`. Default 100,000.
   */
  maxRemembered?: number
  /**
   * The anti-replay window per stream, in sequences (see docs/messages.md, *Replay window*): a
   * verified message whose sequence was not accepted yet is accepted while it is above the
   * stream's highest accepted sequence minus the window, so readings delivered out of order (a
   * reconnect, a QoS 1 redelivery, two broker nodes) by fewer than `replayWindow` sequences are
   * all taken, each once. 1 demands strictly increasing sequences. From 1 to 1,024; default 1,024.
   */
  replayWindow?: number
  /** Called with every equivocation (besides the rejection). May not throw into the validator. */
  onEquivocation?: (e: Equivocation) => void
  /**
   * Durable replay marks (e.g. `createSqliteReplayStore`). The replay memory is seeded from
   * it at creation (every mark, and the latest `maxRemembered` digests), and `commit` records an
   * accepted message in it once its handler completed. Without one the memory starts empty.
   */
  replayStore?: ReplayStore
}

/**
 * The verdict names of the validator. Finer than the `InputRejection` an `InputSource` counts by:
 * each maps to one of those (see {@link verdictToRejection}).
 */
export type InputVerdictName = Exclude<InputRejectionVerdict, 'rate-limited'>

/** A signer that signed two different messages with one sequence (answers: one question and timestamp). */
export type Equivocation = {
  kind: 'reading' | 'answer'
  signer: Hex
  stream: string
  sequence: bigint
  /** The digest of the message accepted first. */
  accepted: Hex
  /** The digest of the other message, refused. */
  offered: Hex
  topic: string
}

/** The verdict on one payload. */
export type InputVerdict =
  | { ok: true; input: VerifiedInput }
  | {
      ok: false
      /** The `InputRejection` an input source counts (kept for compatibility; see `verdict`). */
      reason: InputRejection
      /** The validator's own verdict name. */
      verdict: InputVerdictName
      detail: string
      /** Both digests, for an `equivocation`. */
      equivocation?: Equivocation
    }

/** The validation pipeline of the MQTT input source, usable on its own (tests, other transports). */
export type InputValidator = {
  /**
   * Checks one payload received on `topic` and, when it is accepted, records it for replay
   * protection. Never throws on any payload.
   */
  check(topic: string, payload: Uint8Array | string, flags?: { retained?: boolean }): InputVerdict
  /**
   * The second half of `check`, for a message whose stateless checks ({@link checkEnvelope}) ran
   * elsewhere (a worker thread): counts a refusal, or runs the replay memory on what passed and,
   * when it is accepted, records it there. Never throws.
   */
  admit(topic: string, checked: CheckedEnvelope): InputVerdict
  /** The settings {@link checkEnvelope} needs to check messages as this validator would. */
  settings(): EnvelopeCheckSettings
  /** Adds a signer id to the allow list of devices or oracles. */
  allow(role: 'device' | 'oracle', signer: Hex): void
  /**
   * Undoes the acceptance of `input` when it is still the latest of its stream (its handler failed
   * and the broker will send it again): the copy is then accepted, not counted as `duplicate`.
   * Returns whether it did; once a newer message of the stream was accepted the copy is refused.
   */
  forget(input: VerifiedInput): boolean
  /**
   * Records an accepted input in the replay store (durable when it returns), unless it is recorded
   * already (the handler recorded it in its own transaction). Call it once the input's handler
   * completed and before acknowledging it. Does nothing without a replay store; throws
   * `STORE_ERROR` when the store fails.
   */
  commit(input: VerifiedInput): void
  /**
   * `commit` for several inputs at once: those not recorded yet are recorded in one transaction
   * of the store (group commit) when it has `recordAll`, else one by one. Throws `STORE_ERROR`
   * when the store fails (then none of them may be taken as recorded).
   */
  commitAll(inputs: readonly VerifiedInput[]): void
  /** Accepted messages and rejections by verdict name, since creation. */
  stats(): { accepted: number; rejected: Record<InputVerdictName, number> }
  /** The size of the replay memory: messages remembered and streams holding a mark. */
  memory(): { remembered: number; streams: number }
}

const VERDICTS: Record<InputVerdictName, InputRejection> = {
  retained: 'retained',
  malformed: 'schema',
  schema: 'schema',
  'wrong-chain': 'wrong-chain',
  topic: 'topic',
  'unknown-signer': 'unknown-signer',
  stale: 'stale',
  future: 'future',
  'bad-signature': 'signature',
  duplicate: 'duplicate',
  equivocation: 'replay',
  'stale-sequence': 'replay',
  'too-many-signers': 'unknown-signer',
}

/**
 * The `InputRejection` (the input-source port's reason) a validator verdict is counted as:
 * `malformed` as `schema`, `bad-signature` as `signature`, `equivocation` and `stale-sequence` as
 * `replay`, `too-many-signers` as `unknown-signer`; the others by their own name.
 *
 * @example
 * ```ts
 * verdictToRejection('equivocation') // 'replay'
 * ```
 */
export function verdictToRejection(verdict: InputVerdictName): InputRejection {
  return VERDICTS[verdict]
}

const TOPIC_RE = /^chanvm\/v1\/(devices|oracles)\/(0x[0-9a-f]{64})\/(readings|answers)$/

function allowSet(list: readonly Hex[] | 'any' | undefined): Set<string> | 'any' {
  if (list === 'any') return 'any'
  return new Set((list ?? []).map((s) => s.toLowerCase()))
}

/**
 * Creates the validation pipeline every device reading and oracle answer goes through before it
 * can reach the engine, in this order: retained (`retained`); size, UTF-8, JSON syntax and
 * duplicate keys (`malformed`); JSON Schema and number ranges (`schema`); the cheap checks: chain
 * id (`wrong-chain`), topic agrees with the signer (`topic`), allow list (`unknown-signer`), time
 * window (`stale`, `future`); the signature (`bad-signature`); last the replay memory, which only
 * messages whose signature verified reach: an exact copy of a remembered message (`duplicate`),
 * another message at a taken sequence (`equivocation`), a sequence taken inside the stream's
 * replay window but no longer remembered, or below the window (`stale-sequence`), a new stream
 * beyond `maxStreams`
 * (`too-many-signers`). Only an accepted message changes the replay memory, and a (signer,
 * stream, sequence) once accepted is never accepted again (unless `forget` undid it).
 *
 * @example
 * ```ts
 * const v = createInputValidator({ chainId: 31337n, devices: [deviceId] })
 * const verdict = v.check(readingTopic(deviceId), JSON.stringify(readingToEnvelope(signed)))
 * if (!verdict.ok) console.log(verdict.verdict, verdict.detail)
 * ```
 */
export function createInputValidator(options: InputValidatorOptions): InputValidator {
  const maxAgeSec = options.maxAgeSec ?? 300
  const maxFutureSec = options.maxFutureSec ?? 30
  if (!(maxAgeSec >= 0) || !(maxFutureSec >= 0)) {
    throw new ChanvmError('INVALID_ARGUMENT', 'maxAgeSec and maxFutureSec must be >= 0')
  }
  const memory: ReplayMemory = createReplayMemory({
    maxStreams: options.maxStreams ?? 100_000,
    maxRemembered: options.maxRemembered ?? 100_000,
    window: options.replayWindow ?? MAX_REPLAY_WINDOW,
  })
  const store = options.replayStore
  if (store !== undefined) {
    const snapshot = store.load(options.maxRemembered ?? 100_000)
    const all = (1n << BigInt(MAX_REPLAY_WINDOW)) - 1n
    for (const { stream, mark, seen } of snapshot.marks) memory.restore(stream, { mark, seen: seen ?? all })
    for (const { stream, sequence, digest } of snapshot.recent)
      memory.restoreMessage(stream, sequence, digest)
  }
  const now = options.now ?? Date.now
  const devices = allowSet(options.devices)
  const oracles = allowSet(options.oracles)
  let accepted = 0
  const rejected = Object.fromEntries(Object.keys(VERDICTS).map((k) => [k, 0])) as Record<
    InputVerdictName,
    number
  >

  const reject = (verdict: InputVerdictName, detail: string, equivocation?: Equivocation): InputVerdict => {
    rejected[verdict]++
    const reason = VERDICTS[verdict]
    // The input source reports `reason` only: the detail names the finer verdict when it differs.
    const text = verdict === reason ? detail : `${verdict}: ${detail}`
    return equivocation === undefined
      ? { ok: false, reason, verdict, detail: text }
      : { ok: false, reason, verdict, detail: text, equivocation }
  }

  const isAllowed = (topic: string): boolean => {
    const m = TOPIC_RE.exec(topic)
    if (m === null) return false
    const set = m[1] === 'devices' ? devices : oracles
    return set === 'any' || set.has(m[2] as string)
  }

  function admit(topic: string, checked: CheckedEnvelope): InputVerdict {
    if (!checked.ok) return reject(checked.verdict, checked.detail)
    const { content, digest } = checked
    const { signer } = content
    const timestamp =
      content.type === 'reading' ? content.signed.reading.timestamp : content.signed.answer.timestamp

    // Only a message whose signature verified reaches the replay memory.
    const streamName = content.type === 'reading' ? 'readings' : content.signed.answer.questionId
    const sequence = content.type === 'reading' ? content.signed.reading.sequence : timestamp
    const taken = memory.take(`${signer}/${streamName}`, sequence, digest)
    const what = `${signer} ${content.type === 'reading' ? 'sequence' : `question ${streamName} timestamp`} ${sequence}`
    switch (taken.verdict) {
      case 'duplicate':
        return reject('duplicate', `${what} was accepted before with this digest ${digest}`)
      case 'equivocation': {
        const e: Equivocation = {
          kind: content.type,
          signer,
          stream: streamName,
          sequence,
          accepted: taken.accepted,
          offered: digest,
          topic: topic.slice(0, 200),
        }
        try {
          options.onEquivocation?.(e)
        } catch {
          // A reporting hook cannot change the verdict.
        }
        return reject('equivocation', `${what} signed twice: accepted ${taken.accepted}, now ${digest}`, e)
      }
      case 'stale-sequence':
        return reject(
          'stale-sequence',
          taken.taken
            ? `${what} was accepted before (highest accepted ${taken.mark})`
            : `${what} is below the replay window (highest accepted ${taken.mark})`,
        )
      case 'too-many-signers':
        return reject('too-many-signers', `${taken.limit} streams hold a mark already; ${what} refused`)
      case 'accepted':
        break
    }
    accepted++
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

  const settings: EnvelopeCheckSettings = { chainId: options.chainId, maxAgeSec, maxFutureSec }
  const guarded = (topic: string, checked: CheckedEnvelope): InputVerdict => {
    try {
      return admit(topic, checked)
    } catch (e) {
      // Defence in depth: no payload may throw out of the pipeline.
      return reject(
        'malformed',
        `payload could not be processed: ${(e as Error).message.split('\n')[0] ?? ''}`,
      )
    }
  }

  return {
    check(topic, payload, flags) {
      const job = { topic, payload, retained: flags?.retained === true, allowed: isAllowed(topic) }
      return guarded(topic, checkEnvelope(job, settings, now()))
    },
    admit: guarded,
    settings() {
      return { ...settings }
    },
    allow(role, signer) {
      const set = role === 'device' ? devices : oracles
      if (set !== 'any') set.add(signer.toLowerCase())
    },
    forget(input) {
      // A message recorded durably was handled: its copy stays a duplicate.
      if (store?.holds(replayEntryOf(input)) === true) return false
      const done = memory.forget(`${input.signer}/${input.stream}`, input.sequence, input.digest)
      if (done) accepted--
      return done
    },
    commit(input) {
      if (store === undefined) return
      const entry = replayEntryOf(input)
      if (!store.holds(entry)) store.record(entry)
    },
    commitAll(inputs) {
      if (store === undefined || inputs.length === 0) return
      const entries = inputs.map(replayEntryOf).filter((e) => !store.holds(e))
      if (entries.length === 0) return
      if (store.recordAll !== undefined) store.recordAll(entries)
      else for (const e of entries) store.record(e)
    },
    stats() {
      return { accepted, rejected: { ...rejected } }
    },
    memory() {
      return memory.size()
    },
  }
}
