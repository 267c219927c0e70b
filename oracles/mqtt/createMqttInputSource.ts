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
import { createSqliteReplayStore } from './createSqliteReplayStore.ts'
import { createSignerRateLimiter, type RateLimitOptions } from './createSignerRateLimiter.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from './startEmbeddedBroker.ts'

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
     */
    rateLimit?: RateLimitOptions
    /**
     * A SQLite file for durable replay marks (`createSqliteReplayStore`, opened and closed with
     * the source), unless `replayStore` is given. With it and a stable `clientId`, a reading whose
     * handler completed before a crash is refused as `duplicate` when the broker sends it again,
     * and one whose handler did not complete is accepted (see docs/messages.md, *Delivery*).
     */
    replayFile?: string
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
  let accepted = 0
  const rejected = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<MqttInputRejection, number>
  const limiter = createSignerRateLimiter(options.rateLimit)
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

  // Acknowledged once every handler returned or its promise resolved and the mark is durable; a
  // handler that throws or rejects is logged and leaves the reading unacknowledged and not
  // accepted (the broker sends it again). Handlers that return no promise are run without one.
  const deliver = (input: VerifiedInput): Promise<void> | undefined => {
    if (inputHandlers.size === 0) return handlerRegistered().then(() => deliver(input))
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
    if (pending.length === 0) {
      commit(input)
      return undefined
    }
    return Promise.allSettled(pending).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) failedHandler(input, failed.reason)
      commit(input)
    })
  }

  const {
    topics,
    log: _log,
    url: _url,
    rateLimit: _rateLimit,
    replayFile: _replayFile,
    replayStore: _replayStore,
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
      onMessage,
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
      return () => rejectionHandlers.delete(handler)
    },
    onStatus: link.onStatus,
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
