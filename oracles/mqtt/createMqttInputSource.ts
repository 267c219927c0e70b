import type {
  InputRejection,
  InputRejectionEvent,
  InputRejectionVerdict,
  InputSource,
  VerifiedInput,
} from '../../engine/inputs/types.ts'
import { connectMqtt, type ConnectMqttOptions, type MqttStatus } from './connectMqtt.ts'
import { createInputDelivery, type InputHandler } from './createInputDelivery.ts'
import { createInputReport } from './createInputReport.ts'
import {
  createInputValidator,
  type InputValidator,
  type InputValidatorOptions,
} from './createInputValidator.ts'
import { createPipelinedIntake } from './createPipelinedIntake.ts'
import { createSignerGate } from './createSignerGate.ts'
import { createSqliteReplayStore } from './createSqliteReplayStore.ts'
import { createSignerRateLimiter, type RateLimitOptions } from './createSignerRateLimiter.ts'
import { defaultInputClientId } from './defaultInputClientId.ts'
import { rateLimitedStderr } from './rateLimitedStderr.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from './startEmbeddedBroker.ts'

export { defaultInputClientId } from './defaultInputClientId.ts'

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
  const report = createInputReport(log)
  const refuse = report.refuse
  // With threads, one topic may have at most half of the connection's in-flight messages waiting
  // for their verdict: a flood claiming one signer cannot fill the connection (see `rateLimit`).
  const inFlight = Math.max(2, options.maxInFlight ?? 200)
  const limiter = createSignerRateLimiter({
    perTopicInFlight: Math.max(1, Math.floor(inFlight / 2)),
    ...options.rateLimit,
  })
  const { validator, limitedSigner } = createSignerGate(rawValidator, options)
  const delivery = createInputDelivery({ validator, log })

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
    report.accept()
    return delivery.deliver(verdict.input)
  }

  // Verification on worker threads: batches of what arrived, judged and handed over in order.
  const threads = Math.max(0, Math.floor(options.verifyThreads ?? 1))
  const intake =
    threads > 1
      ? createPipelinedIntake({
          validator,
          limiter,
          limitedSigner,
          report,
          delivery,
          log,
          now: options.now ?? Date.now,
          threads,
          batchSize: Math.max(1, Math.floor(options.batchSize ?? 32)),
        })
      : undefined

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
      ...(intake === undefined ? { onMessage } : { onMessage: intake.onMessage, maxInFlight: inFlight }),
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
      return delivery.onInput(handler)
    },
    onRejection: report.onRejection,
    onStatus: link.onStatus,
    verifierReady() {
      if (intake === undefined) return Promise.resolve()
      if (closing !== undefined) return Promise.reject(new Error('input source closed'))
      return intake.ready()
    },
    stats: report.stats,
    close() {
      closing ??= (async () => {
        delivery.close()
        report.clear()
        await link.close()
        await intake?.close(options.closeTimeoutMs ?? 2_000)
        await broker?.close()
        ownStore?.close()
      })()
      return closing
    },
  }
}
