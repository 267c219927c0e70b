import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { ChanvmError } from '../../engine/errors.ts'
import { createRedelivery } from './createRedelivery.ts'
import { endMqttClient } from './endMqttClient.ts'
import { handleMessagesInOrder, type MqttMessageHandler } from './handleMessagesInOrder.ts'
import { handleMessagesOneByOne } from './handleMessagesOneByOne.ts'

const noLog = () => {}

/** Options of {@link connectMqtt}. */
export type ConnectMqttOptions = {
  url: string
  /** Default: `chanvm-<random>`. Give a stable one together with `clean: false` for a persistent session. */
  clientId?: string
  /** Clean session (MQTT 3.1.1). Default true. */
  clean?: boolean
  /** Topic filters subscribed at QoS 1 on every (re)connect. */
  subscriptions?: readonly string[]
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`. Defaults 200 and 10,000 ms. */
  minBackoffMs?: number
  maxBackoffMs?: number
  /** How long the first connection may take before `connectMqtt` throws `CONFIG`. Default 10,000 ms. */
  connectTimeoutMs?: number
  username?: string
  password?: string
  /** Where connection problems are reported. Default: nowhere. */
  log?: (line: string) => void
  /**
   * Receives every message. Attached before the connection opens, so nothing a persistent
   * session or a retained topic delivers right after CONNACK is missed. Messages are handed over
   * one at a time, in the order the broker sent them: the next one only after the promise this
   * returns has settled. A QoS 1 message is acknowledged (PUBACK) only once that promise resolved,
   * and only on the connection it arrived on; when it rejects (or throws) the message is not
   * acknowledged, and the broker sends it again after the next reconnect of a persistent session.
   * So a handler must not wait for a later message.
   */
  onMessage?: MqttMessageHandler
  /**
   * How many received messages may be in the hands of `onMessage` at once. 1 (the default): one
   * at a time, as above. Above 1: each message is handed over as it arrives, without waiting for
   * the promise of the one before, until this many are unsettled or (QoS 1) waiting for an
   * earlier one; then the connection reads nothing more until one is acknowledged.
   * Acknowledgements keep the rules above (after the promise resolved, on the connection the
   * message arrived on, never for a rejected one) and are sent in the order the messages arrived
   * (MQTT 3.1.1, 4.6): a settled QoS 1 message waits for every earlier one to settle. A QoS 0
   * message has no acknowledgement: it counts only until it settles, so a flood of them settled
   * at once never stops the connection reading (a broker whose queue for this client fills drops
   * what it holds, Mosquitto even QoS 1 messages it counts as in flight).
   */
  maxInFlight?: number
  /**
   * With `maxInFlight` above 1: writes the PUBACKs (whole packets, in order) to the connection's
   * stream, for a caller that sends them along with its next packet. Default: at once.
   */
  writeAcks?: (stream: NodeJS.WritableStream, bytes: Buffer) => void
  /** How long `close()` waits for the broker to acknowledge messages in flight. Default 2,000 ms. */
  closeTimeoutMs?: number
  /**
   * After a handler rejected a QoS 1 message, drop the connection this long afterwards (doubling
   * while rejections go on, up to 30 s) so that the broker sends the unacknowledged message again:
   * a broker redelivers only on reconnect, and unacknowledged messages hold its in-flight window
   * (Mosquitto: 20 messages) until then. Only with a persistent session (`clean: false`): a clean one
   * would lose the message. Default 1,000 ms; 0 leaves it to the next reconnect.
   */
  redeliverAfterMs?: number
  /**
   * Another client took this client id over: the broker said so (MQTT 5 DISCONNECT 0x8E "session
   * taken over"), or, as MQTT 3.1.1 brokers (aedes, Mosquitto) just close the socket, this many
   * connections in a row were closed by the broker within `takeoverWindowMs` of their CONNACK (two
   * clients on one id keep throwing each other out). The connection then stops reconnecting and
   * reports `'taken-over'`. Defaults 3 and 5,000 ms; a limit of 0 turns the flapping rule off.
   */
  takeoverLimit?: number
  takeoverWindowMs?: number
}

/**
 * The status changes a managed connection reports. `'taken-over'` is final: another client holds
 * the client id, and this connection has stopped (see {@link ConnectMqttOptions.takeoverLimit}).
 */
export type MqttStatus = 'subscribed' | 'offline' | 'taken-over'

/** An MQTT connection that reconnects with exponential backoff and resubscribes by itself. */
export type ManagedMqtt = {
  readonly client: MqttClient
  /**
   * Called with `'subscribed'` after every (re)connect once the subscriptions hold, `'offline'` when
   * the link drops, `'taken-over'` (final) when another client took the client id over.
   */
  onStatus(handler: (status: MqttStatus) => void): () => void
  /**
   * Stops reconnecting and ends the connection: waits up to `closeTimeoutMs` for the broker to
   * acknowledge QoS 1 messages in flight, then gives up on those (their publish callbacks fail with
   * `Message removed`). Never waits for a broker that is down. Idempotent.
   */
  close(): Promise<void>
}

/**
 * Connects to an MQTT broker (3.1.1), subscribes to `subscriptions` at QoS 1 and keeps the link up:
 * on loss it reconnects after 200 ms, 400 ms, ... up to 10 s (with 20 % jitter) and subscribes again.
 * Resolves once the first subscription holds (or at CONNACK when the broker resumed a persistent
 * session, which holds them already); throws `CONFIG` when the broker cannot be reached
 * within `connectTimeoutMs`.
 *
 * @example
 * ```ts
 * const link = await connectMqtt({
 *   url: 'mqtt://127.0.0.1:1883',
 *   subscriptions: ['chanvm/v1/devices/+/readings'],
 *   onMessage: (topic, payload, packet) => console.log(topic, packet.retain),
 * })
 * ```
 */
export async function connectMqtt(options: ConnectMqttOptions): Promise<ManagedMqtt> {
  const minBackoff = options.minBackoffMs ?? 200
  const maxBackoff = options.maxBackoffMs ?? 10_000
  const log = options.log ?? (() => {})
  const subscriptions = [...(options.subscriptions ?? [])]
  const jitter = (ms: number) => Math.round(ms * (1 + Math.random() * 0.2))
  let client: MqttClient
  try {
    // MQTT.js reconnects by itself (`reconnectPeriod`, adjusted below for the backoff). Its public
    // `reconnect()` is not used: it swaps in new, empty message stores, which would drop the QoS 1
    // messages published while the broker was away.
    client = mqtt.connect(options.url, {
      clientId: options.clientId ?? `chanvm-${randomBytes(6).toString('hex')}`,
      clean: options.clean ?? true,
      protocolVersion: 4,
      reconnectPeriod: jitter(minBackoff),
      connectTimeout: 5_000,
      resubscribe: false,
      // MQTT.js logs each step of every packet through `debug`, a dozen calls per message that each
      // ask whether the namespace is on: left to it only when DEBUG asks for some namespace.
      ...(process.env.DEBUG ? {} : { log: noLog }),
      // A ping every keepalive period even while packets flow, instead of a timer cleared and set
      // again on each acknowledgement received (two per message sent).
      reschedulePings: false,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
    })
  } catch (cause) {
    throw new ChanvmError('CONFIG', `cannot connect to MQTT broker ${options.url}`, { cause })
  }
  const handlers = new Set<(s: MqttStatus) => void>()
  const emit = (s: MqttStatus) => {
    for (const h of handlers) {
      try {
        h(s)
      } catch (e) {
        log(`mqtt: status handler threw: ${(e as Error).message}`)
      }
    }
  }
  let closed = false
  let backoff = minBackoff
  let firstResolve: (() => void) | undefined
  const first = new Promise<void>((resolve) => (firstResolve = resolve))

  client.on('error', (e) => log(`mqtt: ${options.url}: ${e.message}`))
  const onMessage = options.onMessage
  // The connection was dropped by this code (see `redeliverAfterMs`), not by the broker.
  let droppedByUs = false
  const redelivery = createRedelivery({
    client,
    clean: options.clean ?? true,
    redeliverAfterMs: options.redeliverAfterMs ?? 1_000,
    log,
    closed: () => closed,
    dropped: () => (droppedByUs = true),
  })
  const maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1))
  if (onMessage !== undefined && maxInFlight > 1)
    handleMessagesInOrder(client, onMessage, maxInFlight, {
      log,
      redelivery,
      ...(options.writeAcks === undefined ? {} : { writeAcks: options.writeAcks }),
    })
  else if (onMessage !== undefined) handleMessagesOneByOne(client, onMessage, { log, redelivery })
  // Takeover: connections the broker closed soon after their CONNACK, in a row.
  const takeoverLimit = options.takeoverLimit ?? 3
  const takeoverWindowMs = options.takeoverWindowMs ?? 5_000
  let connectedAt: number | undefined
  let shortLived = 0
  let takenOver = false
  const clientId = client.options.clientId ?? ''
  const tookOver = (why: string) => {
    if (takenOver || closed) return
    takenOver = true
    log(`mqtt: ${options.url}: client id ${clientId} taken over by another client (${why}); not reconnecting`)
    emit('taken-over')
    void close()
  }
  client.on('disconnect', (packet) => {
    if (packet.reasonCode === 0x8e) tookOver('the broker sent DISCONNECT 0x8E, session taken over')
  })
  client.on('connect', (connack) => {
    connectedAt = Date.now()
    // Small packets both ways (a proposal, its accept, the PUBACKs): with Nagle's algorithm on, a
    // packet sent while another is unacknowledged waits for the peer's delayed ACK (40 ms on Linux).
    ;(client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
    backoff = minBackoff
    client.options.reconnectPeriod = jitter(minBackoff)
    // A resumed session already holds the subscriptions, and the broker may send what it kept
    // before the SUBACK: the caller must be able to register its handler for those first.
    if (connack.sessionPresent) firstResolve?.()
    if (subscriptions.length === 0) {
      emit('subscribed')
      firstResolve?.()
      return
    }
    client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
      if (err !== null && err !== undefined) {
        log(`mqtt: subscribe failed: ${err.message}`)
        return
      }
      const refused = (granted ?? []).filter((g) => g.qos === 128)
      if (refused.length > 0) log(`mqtt: broker refused ${refused.map((g) => g.topic).join(', ')}`)
      emit('subscribed')
      firstResolve?.()
    })
  })
  // MQTT.js schedules the next attempt on 'close' with the period set then; set the one after it.
  client.on('close', () => {
    if (closed) return
    if (connectedAt !== undefined && !droppedByUs) {
      if (Date.now() - connectedAt < takeoverWindowMs) shortLived++
      else shortLived = 0
    }
    connectedAt = undefined
    droppedByUs = false
    if (takeoverLimit > 0 && shortLived >= takeoverLimit) {
      tookOver(
        `${shortLived} connections in a row closed by the broker within ${takeoverWindowMs} ms of CONNACK`,
      )
      return
    }
    emit('offline')
    backoff = Math.min(maxBackoff, backoff * 2)
    client.options.reconnectPeriod = jitter(backoff)
  })

  let closing: Promise<void> | undefined
  const closeTimeoutMs = options.closeTimeoutMs ?? 2_000
  const close = () => {
    closing ??= (async () => {
      closed = true
      handlers.clear()
      redelivery.cancel()
      await endMqttClient(client, closeTimeoutMs, log)
    })()
    return closing
  }

  const timeoutMs = options.connectTimeoutMs ?? 10_000
  let timeout: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timeout = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  const outcome = await Promise.race([first.then(() => 'ok' as const), timedOut])
  clearTimeout(timeout)
  if (outcome === 'timeout') {
    await close()
    throw new ChanvmError(
      'CONFIG',
      `MQTT broker ${options.url} did not accept a connection within ${timeoutMs} ms`,
    )
  }
  return {
    client,
    onStatus(handler) {
      handlers.add(handler)
      return () => handlers.delete(handler)
    },
    close,
  }
}
