import type { MqttClient } from 'mqtt'

/** How a connection gets a message it did not acknowledge sent again (see {@link createRedelivery}). */
export type Redelivery = {
  /** A message was handled: the next delay starts from the shortest again. */
  handled(): void
  /** A message of this QoS was not acknowledged: drop the connection later, once. */
  redeliverLater(qos: number): void
  /** Cancels a drop planned. */
  cancel(): void
}

/**
 * After a handler rejected a QoS 1 message, drops the connection `redeliverAfterMs` later
 * (doubling while rejections go on, up to 30 s) so that the broker sends the unacknowledged message
 * again: a broker redelivers only on reconnect. Only with a persistent session (a clean one would
 * lose the message) and a delay above 0. `dropped` is called just before the socket is destroyed.
 *
 * @example
 * ```ts
 * const redelivery = createRedelivery({ client, clean: false, redeliverAfterMs: 1_000, log, closed: () => closed, dropped: () => {} })
 * redelivery.redeliverLater(1)
 * ```
 */
export function createRedelivery(ctx: {
  client: MqttClient
  clean: boolean
  redeliverAfterMs: number
  log: (line: string) => void
  closed: () => boolean
  dropped: () => void
}): Redelivery {
  const { client, clean, log } = ctx
  const redeliverAfter = ctx.redeliverAfterMs
  let redeliverDelay = redeliverAfter
  let redeliverTimer: NodeJS.Timeout | undefined
  return {
    handled() {
      redeliverDelay = redeliverAfter
    },
    redeliverLater(qos) {
      // A clean session would lose the message with the connection.
      if (qos === 0 || clean || redeliverAfter <= 0 || redeliverTimer !== undefined || ctx.closed()) return
      redeliverTimer = setTimeout(() => {
        redeliverTimer = undefined
        if (ctx.closed() || !client.connected) return
        log(`mqtt: reconnecting so that the broker sends unacknowledged messages again`)
        ctx.dropped()
        client.stream.destroy()
      }, redeliverDelay)
      redeliverTimer.unref()
      redeliverDelay = Math.min(30_000, redeliverDelay * 2)
    },
    cancel() {
      clearTimeout(redeliverTimer)
    },
  }
}
