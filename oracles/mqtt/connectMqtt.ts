import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { ChanvmError } from '../../engine/errors.ts'

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
   * session or a retained topic delivers right after CONNACK is missed.
   */
  onMessage?: (topic: string, payload: Buffer, packet: { retain: boolean }) => void
}

/** The status changes a managed connection reports. */
export type MqttStatus = 'subscribed' | 'offline'

/** An MQTT connection that reconnects with exponential backoff and resubscribes by itself. */
export type ManagedMqtt = {
  readonly client: MqttClient
  /** Called with `'subscribed'` after every (re)connect once the subscriptions hold, `'offline'` when the link drops. */
  onStatus(handler: (status: MqttStatus) => void): () => void
  /** Ends the connection (flushing in-flight QoS 1 messages) and stops reconnecting. Idempotent. */
  close(): Promise<void>
}

/**
 * Connects to an MQTT broker (3.1.1), subscribes to `subscriptions` at QoS 1 and keeps the link up:
 * on loss it reconnects after 200 ms, 400 ms, ... up to 10 s (with 20 % jitter) and subscribes again.
 * Resolves once the first subscription holds; throws `CONFIG` when the broker cannot be reached
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
  let client: MqttClient
  try {
    client = mqtt.connect(options.url, {
      clientId: options.clientId ?? `chanvm-${randomBytes(6).toString('hex')}`,
      clean: options.clean ?? true,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      resubscribe: false,
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
  let timer: NodeJS.Timeout | undefined
  let firstResolve: (() => void) | undefined
  const first = new Promise<void>((resolve) => (firstResolve = resolve))

  client.on('error', (e) => log(`mqtt: ${options.url}: ${e.message}`))
  const onMessage = options.onMessage
  if (onMessage !== undefined) client.on('message', (topic, payload, packet) => onMessage(topic, payload, packet))
  client.on('connect', () => {
    backoff = minBackoff
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
  client.on('close', () => {
    if (closed) return
    emit('offline')
    if (timer !== undefined) return
    const delay = Math.round(backoff * (1 + Math.random() * 0.2))
    backoff = Math.min(maxBackoff, backoff * 2)
    timer = setTimeout(() => {
      timer = undefined
      if (!closed) client.reconnect()
    }, delay)
    timer.unref()
  })

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      handlers.clear()
      // Force when offline: a graceful end would wait for a connection that may never come.
      await client.endAsync(!client.connected)
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
    throw new ChanvmError('CONFIG', `MQTT broker ${options.url} did not accept a connection within ${timeoutMs} ms`)
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
