import type { MqttClient } from 'mqtt'
import type { Redelivery } from './createRedelivery.ts'
import type { MqttMessageHandler } from './handleMessagesInOrder.ts'

/**
 * Hands `client`'s messages to `onMessage` one at a time: MQTT.js sends the PUBACK of a QoS 1
 * message when its `handleMessage` hook calls back, and reads the next packet of the connection
 * only then, on the next tick. The PUBACKs written while the packets already received are handled
 * go out in one write: the socket is corked from the first one until the loop turns
 * (setImmediate), each still after its message was handled, in order.
 *
 * @example
 * ```ts
 * handleMessagesOneByOne(client, onMessage, { log, redelivery })
 * ```
 */
export function handleMessagesOneByOne(
  client: MqttClient,
  onMessage: MqttMessageHandler,
  ctx: { log: (line: string) => void; redelivery: Redelivery },
): void {
  const { log, redelivery } = ctx
  let corked: NodeJS.WritableStream | undefined
  const ack = (callback: (error?: Error) => void) => {
    const stream = client.stream as NodeJS.WritableStream & { cork?(): void; uncork?(): void }
    if (corked === undefined && typeof stream.cork === 'function') {
      corked = stream
      stream.cork()
      setImmediate(() => {
        corked = undefined
        stream.uncork?.()
      })
    }
    callback()
  }
  client.handleMessage = (packet, callback) => {
    const stream = client.stream
    let result: void | Promise<unknown>
    try {
      result = onMessage(packet.topic, packet.payload as Buffer, packet)
    } catch (e) {
      log(`mqtt: message handler threw: ${(e as Error).message}`)
      redelivery.redeliverLater(packet.qos)
      callback(e as Error)
      return
    }
    if (
      result === undefined ||
      result === null ||
      typeof (result as { then?: unknown }).then !== 'function'
    ) {
      redelivery.handled()
      ack(callback)
      return
    }
    result.then(
      () => {
        redelivery.handled()
        // A PUBACK on a later connection could acknowledge another message that reuses the id.
        if (client.stream === stream && client.connected) ack(callback)
        else
          callback(new Error('connection changed before the message was handled; the broker sends it again'))
      },
      (e: unknown) => {
        log(`mqtt: message on ${packet.topic} not acknowledged: ${(e as Error)?.message ?? String(e)}`)
        redelivery.redeliverLater(packet.qos)
        callback(e instanceof Error ? e : new Error(String(e)))
      },
    )
  }
}
