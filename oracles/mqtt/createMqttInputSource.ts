import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import type {
  InputRejection,
  InputRejectionEvent,
  InputRejectionVerdict,
  InputSource,
  VerifiedInput,
} from '../../engine/inputs/types.ts'
import { connectMqtt, type ConnectMqttOptions, type MqttStatus } from './connectMqtt.ts'
import {
  createInputValidator,
  type InputValidator,
  type InputValidatorOptions,
} from './createInputValidator.ts'
import { checkEnvelope, type CheckedEnvelope } from './checkEnvelope.ts'
import { createSqliteReplayStore } from './createSqliteReplayStore.ts'
import { createVerifierPool, type VerifierPool } from './createVerifierPool.ts'
import { createSignerRateLimiter, type RateLimitOptions } from './createSignerRateLimiter.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from './startEmbeddedBroker.ts'

/** Most refusals held for the first rejection handler (see `onRejection`). */
const EARLY_REJECTIONS_HELD = 1_000

/** The topic filters the input source subscribes to by default. */
export const INPUT_TOPICS = ['chanvm/v1/devices/+/readings', 'chanvm/v1/oracles/+/answers'] as const

/** Options of {@link createMqttInputSource}: the validator's, plus the connection's. */
export type MqttInputSourceOptions = InputValidatorOptions &
  Omit<ConnectMqttOptions, 'url' | 'subscriptions' | 'log'> & {
    /** Broker URL. Default: start an embedded broker (aedes) on a free loopback port, closed with the source. */
    url?: string
    /** Topic filters. Default `INPUT_TOPICS`. */
    topics?: readonly string[]
    /**
     * Where rejections and connection problems are logged, one line each. Default: stderr, at most
     * 10 lines a second (the rest are counted and summarized). `false`: counted only.
     */
    log?: ((line: string) => void) | false
    /**
     * The MQTT client id. The session is persistent by default (`clean: false`): the broker keeps
     * the readings published while this consumer is away or restarting and delivers them when it
     * is back. Without a client id one is derived from this host's name, the chain id and the
     * topics ({@link defaultInputClientId}), so a restarted consumer resumes its session; two
     * consumers of the same topics on one host each need their own id. `clean: true` without a
     * client id takes a random one, and readings published while it is away are lost.
     */
    clientId?: string
    /**
     * Bounds on the messages checked per signer and in total, applied before the payload is
     * parsed or its signature verified; a message beyond them is dropped, acknowledged and counted
     * `rate-limited` (see {@link createSignerRateLimiter} for the defaults and the policy).
     * With verifier threads, `perTopicInFlight` defaults to half of `maxInFlight` (100): beyond
     * that many messages of one signer's topic waiting for their verdict, the next is refused on
     * arrival, so a flood claiming one signer leaves the other half of the connection free.
     */
    rateLimit?: RateLimitOptions
    /**
     * A SQLite file for durable replay marks (`createSqliteReplayStore`, opened and closed with
     * the source), unless `replayStore` is given. With it and a stable `clientId`, a reading whose
     * handler completed before a crash is refused as `duplicate` when the broker sends it again,
     * and one whose handler did not complete is accepted (see docs/messages.md, *Delivery*).
     */
    replayFile?: string
    /**
     * Worker threads that check signatures (and parse, schema-check and hash) the messages
     * ({@link createVerifierPool}); `availableParallelism()` uses every core. Default 1: every
     * message is judged on this thread, one at a time, as it arrives (so is it with 0). Above 1: messages are
     * handed over as they arrive (up to `maxInFlight` unacknowledged), checked in batches on the
     * threads, then judged by the replay memory, handed to the handlers and acknowledged in the
     * order they arrived (see docs/messages.md, *Pipeline*).
     */
    verifyThreads?: number
    /** Messages in a batch sent to a thread, at most. Default 32. */
    batchSize?: number
    /** Messages received and not yet acknowledged, at most, with threads. Default 200. */
    maxInFlight?: number
  }

/** Why the MQTT input source refused a message (the port's reasons, `rate-limited` included). */
export type MqttInputRejection = InputRejection

/** A refused message as the MQTT input source reports it, with the validator's finer verdict. */
export type MqttInputRejectionEvent = InputRejectionEvent

/** The MQTT input source: the engine's `InputSource` port plus what its operator needs. */
export type MqttInputSource = Omit<InputSource, 'stats'> & {
  /**
   * Registers a receiver of verified inputs. A reading is acknowledged to the broker only once
   * every handler's promise resolved and, with a replay store, its mark is durable; it waits
   * unacknowledged while no handler is registered.
   */
  onInput(handler: (input: VerifiedInput) => void | Promise<void>): () => void
  /** The broker in use (the embedded one's when no URL was given). */
  readonly url: string
  /** The validation pipeline (e.g. `allow` a device registered later). */
  readonly validator: InputValidator
  /**
   * Starts the verifier threads now, instead of with the first message to check, and resolves
   * once they are loaded (at once without threads); rejects with `WORKER_FAILED` when they
   * cannot start. Optional: a message that arrives before waits for them.
   */
  verifierReady(): Promise<void>
  /** Connection status changes: `'subscribed'` after every (re)connect, `'offline'` on loss. */
  onStatus(handler: (status: MqttStatus) => void): () => void
  /**
   * Accepted messages, refused ones by reason (`rate-limited` included), and by the validator's
   * finer verdict (`equivocation`, `stale-sequence`, `bad-signature`, …).
   */
  stats(): {
    accepted: number
    rejected: Record<MqttInputRejection, number>
    verdicts: Partial<Record<InputRejectionVerdict, number>>
  }
}

const REASONS: readonly MqttInputRejection[] = [
  'rate-limited',
  'schema',
  'wrong-chain',
  'topic',
  'signature',
  'unknown-signer',
  'replay',
  'stale',
  'future',
  'retained',
  'duplicate',
]

function rateLimitedStderr(): (line: string) => void {
  let windowStart = 0
  let lines = 0
  let suppressed = 0
  return (line) => {
    const t = Date.now()
    if (t - windowStart >= 1000) {
      if (suppressed > 0) process.stderr.write(`chanvm inputs: ${suppressed} more lines suppressed\n`)
      windowStart = t
      lines = 0
      suppressed = 0
    }
    if (lines++ < 10) process.stderr.write(`chanvm inputs: ${line}\n`)
    else suppressed++
  }
}

/** The signer a topic names (`chanvm/v1/devices/{id}/readings`, `chanvm/v1/oracles/{id}/answers`). */
const SIGNER_TOPIC = /^chanvm\/v1\/(devices|oracles)\/(0x[0-9a-f]{64})\/(readings|answers)$/

function allowList(list: readonly string[] | 'any' | undefined): Set<string> | 'any' {
  return list === 'any' ? 'any' : new Set((list ?? []).map((s) => s.toLowerCase()))
}

/**
 * The MQTT adapter of the engine's input-source port. Connects to `url` (or starts an embedded
 * broker), subscribes at QoS 1 to `chanvm/v1/devices/+/readings` and `chanvm/v1/oracles/+/answers`,
 * bounds the work per signer first ({@link createSignerRateLimiter}: a message of an allowed
 * signer named by its topic takes a token of the total bucket, or is dropped as `rate-limited`
 * before it is even parsed; once judged, it is charged to the signer's own budget when it
 * verified and was accepted, and to its topic's unverified budget otherwise, so forgeries never
 * spend the budget of the device they claim to be), then runs it through
 * {@link createInputValidator} (schema before any cryptography; replay, freshness, allow list,
 * retained flag), counts and logs every rejection by reason and hands only
 * verified inputs to `onInput` handlers. Reconnects with backoff and resubscribes. No payload and
 * no throwing handler can crash it.
 *
 * @example
 * ```ts
 * const source = await createMqttInputSource({ url: 'mqtt://127.0.0.1:1883', chainId: 31337n, devices: [thermometerId] })
 * source.onInput((input) => console.log(input.signer, input.message))
 * console.log(source.stats())
 * await source.close()
 * ```
 */
export async function createMqttInputSource(options: MqttInputSourceOptions): Promise<MqttInputSource> {
  const ownStore =
    options.replayStore === undefined && options.replayFile !== undefined
      ? createSqliteReplayStore({ path: options.replayFile })
      : undefined
  let rawValidator: InputValidator
  try {
    const replayStore = options.replayStore ?? ownStore
    rawValidator = createInputValidator(replayStore === undefined ? options : { ...options, replayStore })
  } catch (e) {
    ownStore?.close()
    throw e
  }
  const log = options.log === false ? () => {} : (options.log ?? rateLimitedStderr())
  let broker: EmbeddedBroker | undefined
  let url = options.url
  if (url === undefined) {
    broker = await startEmbeddedBroker()
    url = broker.url
  }
  type InputHandler = (input: VerifiedInput) => void | Promise<void>
  const inputHandlers = new Set<InputHandler>()
  // A verified input that arrives before any input handler is registered (the backlog a
  // persistent session delivers right after CONNACK) waits, unacknowledged, until one is.
  let registered: Promise<void> | undefined
  let release: (() => void) | undefined
  let abandon: ((e: Error) => void) | undefined
  const handlerRegistered = () => {
    registered ??= new Promise<void>((resolve, reject) => {
      release = resolve
      abandon = reject
    })
    return registered
  }
  const rejectionHandlers = new Set<(r: InputRejectionEvent) => void>()
  // Refusals made before the first rejection handler is registered (a persistent session's backlog
  // arrives as soon as the connection is up, before the caller had the source) are held, up to a
  // bound, and handed to that handler: a refused redelivery is reported, not lost.
  const early: MqttInputRejectionEvent[] = []
  let accepted = 0
  const rejected = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<MqttInputRejection, number>
  // With threads, one topic may have at most half of the connection's in-flight messages waiting
  // for their verdict: a flood claiming one signer cannot fill the connection (see `rateLimit`).
  const inFlight = Math.max(2, options.maxInFlight ?? 200)
  const limiter = createSignerRateLimiter({
    perTopicInFlight: Math.max(1, Math.floor(inFlight / 2)),
    ...options.rateLimit,
  })
  // The allow lists as the validator holds them, to spend no token on a signer it refuses anyway.
  const allowed = { device: allowList(options.devices), oracle: allowList(options.oracles) }
  const validator: InputValidator = {
    ...rawValidator,
    allow(role, signer) {
      rawValidator.allow(role, signer)
      const set = allowed[role]
      if (set !== 'any') set.add(signer.toLowerCase())
    },
  }

  const verdicts: Partial<Record<InputRejectionVerdict, number>> = {}
  const refuse = (
    reason: MqttInputRejection,
    detail: string,
    topic: string,
    verdict: InputRejectionVerdict = reason as InputRejectionVerdict,
  ) => {
    rejected[reason]++
    verdicts[verdict] = (verdicts[verdict] ?? 0) + 1
    const event: MqttInputRejectionEvent = { reason, verdict, detail, topic: topic.slice(0, 200) }
    log(`rejected (${verdict}) on ${event.topic}: ${detail}`)
    if (rejectionHandlers.size === 0 && early.length < EARLY_REJECTIONS_HELD) early.push(event)
    for (const h of rejectionHandlers) {
      try {
        h(event)
      } catch (e) {
        log(`a rejection handler threw: ${(e as Error).message}`)
      }
    }
  }

  /**
   * The allowed signer a topic names, whose buckets pay for checking the message; undefined for a
   * topic naming no allowed signer (refused cheaply by the allow list, no bucket spent).
   */
  const limitedSigner = (topic: string): string | undefined => {
    const m = SIGNER_TOPIC.exec(topic)
    if (m === null) return undefined
    const set = m[1] === 'devices' ? allowed.device : allowed.oracle
    const signer = m[2] as string
    return set !== 'any' && !set.has(signer) ? undefined : signer
  }

  // Judged synchronously; only a verified input waits (for its handlers) before it is acknowledged.
  const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
    const signer = packet.retain ? undefined : limitedSigner(topic)
    if (signer !== undefined && !limiter.admit(signer, performance.now())) {
      refuse('rate-limited', 'the signer is over its rate, or all signers are over theirs', topic)
      return
    }
    const verdict = validator.check(topic, payload, { retained: packet.retain })
    // A forgery (or a copy, or garbage) on a device's topic is charged to the topic, never to the
    // device: only what verified and was accepted spends the device's own budget.
    if (signer !== undefined) limiter.settle(signer, verdict.ok, performance.now())
    if (!verdict.ok) {
      refuse(verdict.reason, verdict.detail, topic, verdict.verdict)
      return
    }
    accepted++
    return deliver(verdict.input)
  }

  const failedHandler = (input: VerifiedInput, reason: unknown): never => {
    log(`an input handler threw: ${(reason as Error)?.message ?? String(reason)}`)
    // The broker's copy must be accepted again, not dropped as a duplicate.
    validator.forget(input)
    throw reason
  }

  // Once every handler completed, the mark is made durable, then the reading is acknowledged. A
  // store that fails leaves it unacknowledged and not accepted, like a failed handler.
  const commit = (input: VerifiedInput): void => {
    try {
      validator.commit(input)
    } catch (e) {
      failedHandler(input, e)
    }
  }

  // Runs every handler of a verified input (waiting for one to be registered); rejects when one
  // threw or rejected. Returns undefined when all of them returned without a promise.
  const runHandlers = (input: VerifiedInput): Promise<void> | undefined => {
    if (inputHandlers.size === 0) return handlerRegistered().then(() => runHandlers(input))
    const pending: PromiseLike<unknown>[] = []
    for (const h of [...inputHandlers]) {
      let result: unknown
      try {
        result = h(input)
      } catch (e) {
        pending.push(Promise.reject(e))
        continue
      }
      if (typeof (result as { then?: unknown } | undefined)?.then === 'function')
        pending.push(result as PromiseLike<unknown>)
    }
    if (pending.length === 0) return undefined
    return Promise.allSettled(pending).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    })
  }

  // Acknowledged once every handler returned or its promise resolved and the mark is durable; a
  // handler that throws or rejects is logged and leaves the reading unacknowledged and not
  // accepted (the broker sends it again). Handlers that return no promise are run without one.
  const deliver = (input: VerifiedInput): Promise<void> | undefined => {
    const run = runHandlers(input)
    if (run === undefined) {
      commit(input)
      return undefined
    }
    return run.then(
      () => commit(input),
      (e: unknown) => {
        failedHandler(input, e)
        commit(input)
      },
    )
  }

  const now = options.now ?? Date.now
  // Verification on worker threads: batches of what arrived, judged and handed over in order.
  const threads = Math.max(0, Math.floor(options.verifyThreads ?? 1))
  const pipelined = threads > 1
  // Started with the first message to check (or by `verifierReady`): a source that receives
  // nothing costs no thread.
  let pool: VerifierPool | undefined
  const checkSettings = validator.settings()
  const startPool = (): VerifierPool =>
    (pool ??= createVerifierPool({ threads, settings: checkSettings, log }))
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 32))
  type Waiting = {
    topic: string
    payload: Buffer
    signer: string | undefined
    resolve: () => void
    reject: (e: unknown) => void
  }
  let batch: Waiting[] = []
  let flushTimer: NodeJS.Immediate | undefined
  let tail: Promise<void> = Promise.resolve()
  let stopped = false

  // Every input of a batch whose handlers completed is marked durable in one transaction, then
  // all of them are acknowledged; a store that fails leaves all of them unacknowledged.
  const commitBatch = (done: { input: VerifiedInput; waiting: Waiting }[]) => {
    if (done.length === 0) return
    try {
      validator.commitAll(done.map((d) => d.input))
    } catch (e) {
      log(`replay marks not recorded: ${(e as Error)?.message ?? String(e)}`)
      for (const d of [...done].reverse()) validator.forget(d.input)
      for (const d of done) d.waiting.reject(e)
      return
    }
    for (const d of done) d.waiting.resolve()
  }

  const judgeBatch = async (items: readonly Waiting[], results: readonly CheckedEnvelope[]) => {
    const done: { input: VerifiedInput; waiting: Waiting }[] = []
    for (let i = 0; i < items.length; i++) {
      const waiting = items[i] as Waiting
      if (stopped) {
        if (waiting.signer !== undefined) limiter.release(waiting.signer)
        waiting.reject(new Error('input source closed'))
        continue
      }
      const verdict = validator.admit(waiting.topic, results[i] as CheckedEnvelope)
      // A forgery (or a copy, or garbage) on a device's topic is charged to the topic, never to
      // the device: only what verified and was accepted spends the device's own budget.
      if (waiting.signer !== undefined) limiter.settle(waiting.signer, verdict.ok, performance.now())
      if (!verdict.ok) {
        refuse(verdict.reason, verdict.detail, waiting.topic, verdict.verdict)
        waiting.resolve()
        continue
      }
      accepted++
      const input = verdict.input
      try {
        const running = runHandlers(input)
        if (running !== undefined) await running
        done.push({ input, waiting })
      } catch (e) {
        log(`an input handler threw: ${(e as Error)?.message ?? String(e)}`)
        // The broker's copy must be accepted again, not dropped as a duplicate.
        validator.forget(input)
        waiting.reject(e)
      }
    }
    commitBatch(done)
  }

  const flush = () => {
    flushTimer = undefined
    if (batch.length === 0) return
    const items = batch
    batch = []
    const checked = startPool().check(
      items.map((w) => ({ topic: w.topic, payload: w.payload, allowed: w.signer !== undefined })),
      now(),
    )
    // Checked on the threads in parallel, judged here in the order the batches were sent.
    tail = tail.then(() =>
      checked.then(
        (results) => judgeBatch(items, results),
        (e: unknown) => {
          log(`messages not checked: ${(e as Error)?.message ?? String(e)}`)
          for (const w of items) {
            if (w.signer !== undefined) limiter.release(w.signer)
            w.reject(e)
          }
        },
      ),
    )
  }

  const onMessagePipelined = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
    if (packet.retain) {
      // Refused whatever it holds; acknowledged in its turn.
      const verdict = validator.check(topic, payload, { retained: true })
      if (!verdict.ok) refuse(verdict.reason, verdict.detail, topic, verdict.verdict)
      return
    }
    const signer = limitedSigner(topic)
    if (signer === undefined) {
      // A topic that names no allowed signer is refused before any cryptography (`topic`,
      // `unknown-signer` or earlier; `allowed: false` can never pass): judged here at once, as
      // without threads, with no state touched, so a flood of unknown ids never waits for the
      // threads nor holds up the connection.
      const checked = checkEnvelope({ topic, payload, allowed: false }, checkSettings, now())
      const verdict = validator.admit(topic, checked)
      if (!verdict.ok) refuse(verdict.reason, verdict.detail, topic, verdict.verdict)
      return
    }
    if (!limiter.admit(signer, performance.now())) {
      refuse('rate-limited', 'the signer is over its rate, or all signers are over theirs', topic)
      return
    }
    return new Promise<void>((resolve, reject) => {
      batch.push({ topic, payload, signer, resolve, reject })
      if (batch.length >= batchSize) {
        clearImmediate(flushTimer)
        flush()
      } else flushTimer ??= setImmediate(flush)
    })
  }

  const {
    topics,
    log: _log,
    url: _url,
    rateLimit: _rateLimit,
    replayFile: _replayFile,
    replayStore: _replayStore,
    maxInFlight: _maxInFlight,
    ...connectOptions
  } = options
  let link
  try {
    link = await connectMqtt({
      ...connectOptions,
      clean: connectOptions.clean ?? false,
      ...(connectOptions.clientId === undefined && connectOptions.clean !== true
        ? { clientId: defaultInputClientId(options.chainId, topics ?? INPUT_TOPICS) }
        : {}),
      url,
      subscriptions: topics ?? INPUT_TOPICS,
      log,
      ...(!pipelined ? { onMessage } : { onMessage: onMessagePipelined, maxInFlight: inFlight }),
    })
  } catch (e) {
    await broker?.close()
    ownStore?.close()
    throw e
  }

  let closing: Promise<void> | undefined
  return {
    url,
    validator,
    onInput(handler: InputHandler) {
      inputHandlers.add(handler)
      release?.()
      registered = undefined
      return () => inputHandlers.delete(handler)
    },
    onRejection(handler) {
      rejectionHandlers.add(handler)
      for (const event of early.splice(0)) {
        try {
          handler(event)
        } catch (e) {
          log(`a rejection handler threw: ${(e as Error).message}`)
        }
      }
      return () => rejectionHandlers.delete(handler)
    },
    onStatus: link.onStatus,
    verifierReady() {
      if (!pipelined) return Promise.resolve()
      if (closing !== undefined) return Promise.reject(new Error('input source closed'))
      return startPool().ready()
    },
    stats() {
      return { accepted, rejected: { ...rejected }, verdicts: { ...verdicts } }
    },
    close() {
      closing ??= (async () => {
        inputHandlers.clear()
        rejectionHandlers.clear()
        abandon?.(new Error('input source closed'))
        registered?.catch(() => undefined)
        await link.close()
        stopped = true
        clearImmediate(flushTimer)
        for (const w of batch) {
          if (w.signer !== undefined) limiter.release(w.signer)
          w.reject(new Error('input source closed'))
        }
        batch = []
        // What the threads still check is refused (never acknowledged: the broker sends it again).
        await pool?.close()
        // A handler that never settles cannot hold close() up.
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          tail,
          new Promise((r) => (timer = setTimeout(r, options.closeTimeoutMs ?? 2_000))),
        ])
        clearTimeout(timer)
        await broker?.close()
        ownStore?.close()
      })()
      return closing
    },
  }
}

/**
 * The client id an input source takes when it is given none: stable for one host, chain and set
 * of topics, so a restarted consumer resumes its persistent session.
 *
 * @example
 * ```ts
 * defaultInputClientId(31337n, ['chanvm/v1/devices/+/readings']) // 'chanvm-inputs-…'
 * ```
 */
export function defaultInputClientId(chainId: bigint, topics: readonly string[]): string {
  const key = [hostname(), chainId.toString(), ...[...topics].sort()].join('\n')
  return `chanvm-inputs-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`
}
