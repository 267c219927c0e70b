import type { Writable } from 'node:stream'

/** What {@link corkWritesPerTurn} gives for a stream. */
export type TurnCork = {
  /**
   * Writes `bytes` (whole packets, such as PUBACKs) together with the stream's next write, or
   * after `maxMs` when nothing else is written before, or at the end of this turn once `maxBytes`
   * or more are held, whichever comes first; in the order held. Dropped when the stream is
   * destroyed first, as a write to it would be.
   */
  hold(bytes: Buffer, maxMs: number, maxBytes: number): void
}

const corks = new WeakMap<Writable, TurnCork>()

/**
 * Makes `stream` hold what is written to it until the end of the event-loop turn (the next
 * `setImmediate`), so that a turn's packets leave in one write: MQTT.js sends each packet on its
 * own once the microtasks of the callback that made it have run, so the publishes and PUBACKs of
 * the callbacks one turn runs (several disk syncs completed, several messages read) would each be
 * a system call, a wake-up of the broker and a TCP segment. Nothing waits longer than the turn it
 * was written in, except what is given to `hold`. Idempotent per stream (the same cork each
 * time); a new connection's stream needs its own call.
 *
 * @example
 * ```ts
 * client.on('connect', () => corkWritesPerTurn(client.stream))
 * corkWritesPerTurn(client.stream).hold(puback, 10)
 * ```
 */
export function corkWritesPerTurn(stream: Writable): TurnCork {
  const known = corks.get(stream)
  if (known !== undefined) return known
  let corked = false
  const uncork = () => {
    corked = false
    stream.uncork()
  }
  const write = stream.write
  let held: Buffer[] = []
  let heldBytes = 0
  let timer: NodeJS.Timeout | undefined
  const writeHeld = () => {
    clearTimeout(timer)
    timer = undefined
    const bytes = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held)
    held = []
    heldBytes = 0
    if (!stream.destroyed && !stream.writableEnded) (write as (chunk: Buffer) => boolean).call(stream, bytes)
  }
  const corkTurn = () => {
    if (!corked && !stream.destroyed && !stream.writableEnded) {
      corked = true
      stream.cork()
      setImmediate(uncork)
    }
  }
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>): boolean {
    corkTurn()
    if (held.length > 0) writeHeld()
    return write.apply(this, args)
  } as Writable['write']
  // An end takes what is held along.
  const end = stream.end
  stream.end = function (this: Writable, ...args: unknown[]): Writable {
    if (held.length > 0) {
      corkTurn()
      writeHeld()
    }
    return (end as (...a: unknown[]) => Writable).apply(this, args)
  } as Writable['end']
  stream.once('close', () => clearTimeout(timer))
  const cork: TurnCork = {
    hold(bytes, maxMs, maxBytes) {
      held.push(bytes)
      heldBytes += bytes.length
      if (heldBytes >= maxBytes) {
        corkTurn()
        writeHeld()
      } else if (timer === undefined)
        timer = setTimeout(() => {
          corkTurn()
          writeHeld()
        }, maxMs)
    },
  }
  corks.set(stream, cork)
  return cork
}
