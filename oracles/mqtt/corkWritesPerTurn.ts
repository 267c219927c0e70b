import type { Writable } from 'node:stream'

const held = new WeakSet<Writable>()

/**
 * Makes `stream` hold what is written to it until the end of the event-loop turn (the next
 * `setImmediate`), so that a turn's packets leave in one write: MQTT.js sends each packet on its
 * own once the microtasks of the callback that made it have run, so the publishes and PUBACKs of
 * the callbacks one turn runs (several disk syncs completed, several messages read) would each be
 * a system call, a wake-up of the broker and a TCP segment. Nothing waits longer than the turn it
 * was written in. Idempotent per stream; a new connection's stream needs its own call.
 *
 * @example
 * ```ts
 * client.on('connect', () => corkWritesPerTurn(client.stream))
 * ```
 */
export function corkWritesPerTurn(stream: Writable): void {
  if (held.has(stream)) return
  held.add(stream)
  let corked = false
  const uncork = () => {
    corked = false
    stream.uncork()
  }
  const write = stream.write
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>): boolean {
    if (!corked && !stream.destroyed && !stream.writableEnded) {
      corked = true
      stream.cork()
      setImmediate(uncork)
    }
    return write.apply(this, args)
  } as Writable['write']
}
