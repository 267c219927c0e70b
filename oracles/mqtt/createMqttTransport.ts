import type { Writable } from 'node:stream'
import type { Address } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'
import { connectMqtt, type ConnectMqttOptions, type MqttStatus } from './connectMqtt.ts'
import { corkWritesPerTurn } from './corkWritesPerTurn.ts'
import { createHandlerLatch } from './createHandlerLatch.ts'

/** Largest peer message accepted, in bytes (an action is capped at 128 KiB by the sandbox; hex doubles it). */
export const MAX_PEER_MESSAGE_BYTES = 1024 * 1024

/**
 * Messages received and not yet acknowledged, by default: the channels whose messages are handled
 * at once. Above the broker's own in-flight window (Mosquitto: 20) it changes nothing.
 */
export const PEER_MAX_IN_FLIGHT = 64

/**
 * How long a PUBACK may wait for the connection's next packet to go along with it (a proposer's
 * commit follows the PUBACK of the accept once the co-signed state is durable; a peer's accept
 * follows that of the next proposal). Acknowledging later never loses a message: the broker keeps
 * it until then, and sends it again after a crash.
 */
export const PEER_ACK_HOLD_MS = 10

/**
 * PUBACKs held at most: more leave at once, so that held acknowledgements never fill the
 * broker's window of messages in flight to this client (Mosquitto: 20).
 */
export const PEER_ACKS_HELD_MAX = 8

const PEER_TYPES = new Set(['open', 'propose', 'accept', 'reject', 'commit', 'sync'])
const TOPIC_RE = /^chanvm\/v1\/channels\/(0x[0-9a-f]{64})\/to\/(0x[0-9a-f]{40})$/

/** Options of {@link createMqttTransport}. */
export type MqttTransportOptions = Omit<ConnectMqttOptions, 'subscriptions' | 'clientId' | 'clean'> & {
  /** This party's address. */
  self: Address
  /**
   * MQTT client id. Default `chanvm-peer-<self>`: stable, so that with the default persistent
   * session (`clean: false`) the broker keeps QoS 1 messages for a party while it restarts.
   */
  clientId?: string
  /** Default false (persistent session). */
  clean?: boolean
}

/** The MQTT peer transport, plus its connection status. */
export type MqttTransport = PeerTransport & {
  onStatus(handler: (status: MqttStatus) => void): () => void
  /** Messages dropped on receipt (malformed, wrong topic, retained), for monitoring. */
  dropped(): number
}

/**
 * The engine's peer-transport port over MQTT. A message to participant `to` about channel `c` is
 * published at QoS 1 (not retained) as JSON to `chanvm/v1/channels/{c}/to/{to}` (lower-case hex);
 * each party subscribes to `chanvm/v1/channels/+/to/{self}`. `send` resolves when the message is in
 * the client's outgoing store, which keeps it across reconnects and sends it again until the broker
 * acknowledges it (PUBACK); not when the PUBACK arrives, so that a handler can send. A message still
 * unacknowledged when the process dies is lost with it (the protocol re-syncs at start-up).
 * Delivery is at least once; the protocol removes duplicates and
 * checks every signature, the transport only drops what is not a well-formed peer message for the
 * channel of its topic.
 *
 * Acknowledgement after storing: messages are handed to the handlers in the order the broker sent
 * them, each as it arrives, without waiting for the promise of the one before (up to `maxInFlight`
 * unacknowledged, default {@link PEER_MAX_IN_FLIGHT}): a party's handler puts each message on its
 * channel's queue at once, so one channel's messages stay in order while a proposal on one channel
 * waiting for its record's disk sync does not hold up the others (their records share the sync).
 * A message is acknowledged to the broker only once every handler's promise resolved (the party
 * stored what the message made it store), in arrival order. A message whose handler rejects is not
 * acknowledged; one that arrives before any handler is registered waits, unacknowledged, until one
 * is. With the default persistent session the broker keeps every unacknowledged message and sends
 * it again when the party reconnects, after a crash too.
 *
 * @example
 * ```ts
 * const transport = await createMqttTransport({ url: broker.url, self: alice.address })
 * const party = await createParty({ signer: createKeySigner(privateKey), transport, store, sandbox, apps, clock })
 * ```
 */
export async function createMqttTransport(options: MqttTransportOptions): Promise<MqttTransport> {
  const self = options.self.toLowerCase() as Address
  if (!/^0x[0-9a-f]{40}$/.test(self))
    throw new ChanvmError('INVALID_ARGUMENT', `not an address: ${options.self}`)
  const { self: _self, clientId, clean, ...rest } = options
  type Handler = (m: PeerMessage) => void | Promise<void>
  const handlers = new Set<Handler>()
  let closed = false
  let dropped = 0
  const decoder = new TextDecoder('utf-8', { fatal: true })
  // A persistent session delivers what was queued right after CONNACK, before a restarting party
  // has registered its handler: such a message waits here, unacknowledged, until one is.
  const latch = createHandlerLatch()

  // Each handler gets its own copy, as from the memory transport. A handler that throws or
  // rejects leaves the message unacknowledged. One handler (a party) is called directly: its
  // promise is the message's.
  const handOver = (message: PeerMessage): void | Promise<unknown> => {
    if (handlers.size === 1) for (const h of handlers) return h(message)
    const list = [...handlers]
    return Promise.all(
      list.map(async (h) =>
        h(list.length === 1 ? message : (JSON.parse(JSON.stringify(message)) as PeerMessage)),
      ),
    )
  }
  const deliver = (message: PeerMessage): void | Promise<unknown> =>
    handlers.size === 0 ? latch.wait().then(() => handOver(message)) : handOver(message)
  // Not async: a message dropped here is acknowledged in the same turn, and a delivered one
  // settles with its handler's promise (connectMqtt takes a throw as a rejection).
  const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
    const m = TOPIC_RE.exec(topic)
    if (packet.retain || m === null || m[2] !== self || payload.byteLength > MAX_PEER_MESSAGE_BYTES) {
      dropped++
      return
    }
    let message: unknown
    try {
      message = JSON.parse(decoder.decode(payload))
    } catch {
      dropped++
      return
    }
    if (
      typeof message !== 'object' ||
      message === null ||
      Array.isArray(message) ||
      !PEER_TYPES.has((message as { type?: unknown }).type as string) ||
      typeof (message as { channelId?: unknown }).channelId !== 'string' ||
      (message as { channelId: string }).channelId.toLowerCase() !== m[1]
    ) {
      dropped++
      return
    }
    return deliver(message as PeerMessage)
  }
  const link = await connectMqtt({
    ...rest,
    clientId: clientId ?? `chanvm-peer-${self}`,
    clean: clean ?? false,
    maxInFlight: rest.maxInFlight ?? PEER_MAX_IN_FLIGHT,
    subscriptions: [`chanvm/v1/channels/+/to/${self}`],
    onMessage,
    writeAcks: (stream, bytes) =>
      corkWritesPerTurn(stream as Writable).hold(bytes, PEER_ACK_HOLD_MS, PEER_ACKS_HELD_MAX * 4),
  })
  // A turn's publishes and PUBACKs (a node's several channels) leave in one write, and a PUBACK
  // waits for the next packet.
  const cork = () => corkWritesPerTurn(link.client.stream)
  cork()
  link.client.on('connect', cork)

  return {
    self: options.self,
    send(to, message) {
      if (closed)
        return Promise.reject(
          new ChanvmError('TRANSPORT_CLOSED', 'MQTT transport is closed', {
            channelId: message.channelId,
          }),
        )
      // Resolves once the message is in the client's outgoing store, not at the PUBACK: a handler
      // that sends must not wait for a packet that its own connection reads only after it returns.
      return new Promise<void>((resolve, reject) => {
        const topic = `chanvm/v1/channels/${message.channelId.toLowerCase()}/to/${to.toLowerCase()}`
        const failed = (cause: unknown) =>
          reject(
            new ChanvmError('TRANSPORT_CLOSED', 'MQTT publish failed', {
              cause,
              channelId: message.channelId,
            }),
          )
        const stored = (...err: unknown[]) => (err[0] instanceof Error ? failed(err[0]) : resolve())
        link.client.publish(
          topic,
          JSON.stringify(message),
          { qos: 1, retain: false, cbStorePut: stored },
          (err) => {
            if (err !== undefined && err !== null) failed(err)
            else resolve()
          },
        )
      })
    },
    onMessage(handler) {
      handlers.add(handler)
      latch.open()
      return () => handlers.delete(handler)
    },
    onStatus: link.onStatus,
    dropped: () => dropped,
    async close() {
      closed = true
      handlers.clear()
      latch.abandon(new ChanvmError('TRANSPORT_CLOSED', 'MQTT transport is closed'))
      await link.close()
    },
  }
}
