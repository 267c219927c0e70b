import type { MqttClient } from 'mqtt'

/**
 * Ends an MQTT.js client: waits up to `closeTimeoutMs` for the broker to acknowledge QoS 1
 * messages in flight, then gives up on those (their publish callbacks fail with `Message removed`).
 * Never waits for a broker that is down.
 *
 * @example
 * ```ts
 * await endMqttClient(client, 2_000, log)
 * ```
 */
export async function endMqttClient(
  client: MqttClient,
  closeTimeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  // Whatever is still unacknowledged fails rather than leaving its sender waiting.
  const giveUp = () => {
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id))
  }
  if (!client.connected) {
    // A graceful end would wait for a connection that may never come.
    giveUp()
    await client.endAsync(true).catch((e: unknown) => log(`mqtt: close: ${(e as Error).message}`))
    return
  }
  // A graceful end waits for every QoS 1 message in flight to be acknowledged: bounded.
  const ended = client.endAsync(false)
  let timer: NodeJS.Timeout | undefined
  const late = await Promise.race([
    ended.then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), closeTimeoutMs))),
  ])
  clearTimeout(timer)
  if (late) {
    giveUp()
    if (client.connected) {
      const gone = new Promise<void>((r) => client.once('close', () => r()))
      client.stream.destroy()
      await gone
    }
    // The graceful end waits for this event; nothing is in flight any more.
    client.emit('outgoingEmpty')
  }
  await ended.catch((e: unknown) => log(`mqtt: close: ${(e as Error).message}`))
}
