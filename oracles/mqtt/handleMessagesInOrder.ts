import type { MqttClient } from 'mqtt'
import type { Redelivery } from './createRedelivery.ts'

/** A receiver of an MQTT connection's messages (see `ConnectMqttOptions.onMessage`). */
export type MqttMessageHandler = (
  topic: string,
  payload: Buffer,
  packet: { retain: boolean },
) => void | Promise<unknown>

/**
 * Hands `client`'s messages to `onMessage` as they arrive, up to `maxInFlight` unsettled or
 * waiting for an earlier one, and writes each PUBACK itself, in arrival order, once the message's
 * promise resolved and every earlier message settled (see `ConnectMqttOptions.maxInFlight`).
 *
 * MQTT.js reads the next packet once its `handleMessage` hook calls back, and sends the PUBACK
 * then unless the callback is given an error. So the hook calls back with an error at once (no
 * PUBACK, next packet) and this code writes the PUBACKs.
 *
 * @example
 * ```ts
 * handleMessagesInOrder(client, onMessage, 200, { log, redelivery })
 * ```
 */
export function handleMessagesInOrder(
  client: MqttClient,
  onMessage: MqttMessageHandler,
  maxInFlight: number,
  ctx: {
    log: (line: string) => void
    redelivery: Redelivery
    /** Writes PUBACKs (whole packets) to the connection's stream. Default: at once. */
    writeAcks?: (stream: NodeJS.WritableStream, bytes: Buffer) => void
  },
): void {
  const { log, redelivery } = ctx
  const writeAcks = ctx.writeAcks ?? ((stream, bytes) => void stream.write(bytes))
  type Entry = {
    stream: unknown
    qos: number
    messageId: number | undefined
    state: 'pending' | 'ack' | 'fail'
  }
  // QoS 1 and 2 messages in arrival order until acknowledged; QoS 0 ones only counted until settled.
  const queue: Entry[] = []
  let unsettledQos0 = 0
  let paused: (() => void) | undefined
  const later = new Error('acknowledged by connectMqtt in arrival order')
  const flush = () => {
    let acks: number[] = []
    let ackStream: unknown
    const write = () => {
      if (acks.length === 0) return
      const bytes = Buffer.allocUnsafe(acks.length * 4)
      // PUBACK (MQTT 3.1.1): 0x40, remaining length 2, packet identifier.
      for (let i = 0; i < acks.length; i++) {
        const id = acks[i] as number
        bytes[i * 4] = 0x40
        bytes[i * 4 + 1] = 0x02
        bytes[i * 4 + 2] = id >> 8
        bytes[i * 4 + 3] = id & 0xff
      }
      writeAcks(ackStream as NodeJS.WritableStream, bytes)
      acks = []
    }
    while (queue.length > 0 && (queue[0] as Entry).state !== 'pending') {
      const e = queue.shift() as Entry
      if (e.state !== 'ack' || e.qos === 0 || e.messageId === undefined) continue
      // A PUBACK on a later connection could acknowledge another message that reuses the id.
      if (e.stream !== client.stream || !client.connected) continue
      if (ackStream !== e.stream) write()
      ackStream = e.stream
      acks.push(e.messageId)
    }
    write()
    if (paused !== undefined && queue.length + unsettledQos0 < maxInFlight) {
      const resume = paused
      paused = undefined
      resume()
    }
  }
  // Messages settled together (a batch whose handlers completed) are acknowledged together: the
  // flush runs once the promise reactions queued now have run, and writes their PUBACKs at once.
  let flushQueued = false
  const flushLater = () => {
    if (flushQueued) return
    flushQueued = true
    queueMicrotask(() => {
      flushQueued = false
      flush()
    })
  }
  const settle = (entry: Entry, ok: boolean) => {
    entry.state = ok ? 'ack' : 'fail'
    if (ok) redelivery.handled()
    else redelivery.redeliverLater(entry.qos)
    flushLater()
  }
  const settleQos0 = (ok: boolean) => {
    unsettledQos0--
    if (ok) redelivery.handled()
    flushLater()
  }
  client.handleMessage = (packet, callback) => {
    const entry: Entry = {
      stream: client.stream,
      qos: packet.qos,
      messageId: packet.messageId,
      state: 'pending',
    }
    if (packet.qos === 0) unsettledQos0++
    else queue.push(entry)
    const done = (ok: boolean) => (packet.qos === 0 ? settleQos0(ok) : settle(entry, ok))
    let result: void | Promise<unknown>
    try {
      result = onMessage(packet.topic, packet.payload as Buffer, packet)
    } catch (e) {
      log(`mqtt: message handler threw: ${(e as Error).message}`)
      result = Promise.reject(e)
    }
    if (result === undefined || result === null || typeof (result as { then?: unknown }).then !== 'function')
      done(true)
    else
      result.then(
        () => done(true),
        (e: unknown) => {
          log(`mqtt: message on ${packet.topic} not acknowledged: ${(e as Error)?.message ?? String(e)}`)
          done(false)
        },
      )
    // Back-pressure: read on only while fewer than maxInFlight messages are unsettled or unacknowledged.
    if (queue.length + unsettledQos0 < maxInFlight) callback(later)
    else paused = () => callback(later)
  }
}
