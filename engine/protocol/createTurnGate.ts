import { ChanvmError } from '../errors.ts'

/** Calls `f` two turns of the event loop from now: after the `setImmediate` callbacks queued so far. */
export const afterTwoTurns = (f: () => void): void => void setImmediate(() => setImmediate(f))

/** Undefined when a message may start now, else a promise that resolves when it may. */
export type TurnGate = () => Promise<void> | undefined

/**
 * Lets messages start in windows of at most `perTurn`; the others wait, in the order they came,
 * for later windows. Without it a party that receives a burst (a socket read of many channels'
 * messages) handles all of it before the first reply can leave: every message's write joins one
 * commit and one disk sync, its signature and reply wait for that sync, and the peer sits idle
 * until the whole burst is answered, then the same happens the other way (waves). With a limit
 * the window's writes commit and their sync starts while the next messages are handled, and the
 * replies of the first leave as soon as their sync is done: a pipeline.
 *
 * A window opens with its first message and ends with `endWindow` (default two turns of the event
 * loop later): the store's group commit runs in the turn's `setImmediate` queue, so the writes a
 * window's messages make in its first turn commit before the next window's messages start. It is
 * a pacing rule, not a promise about commits: a message that waits for a crypto thread, or starts
 * in a window's second turn, writes later and may share a commit with the next window.
 *
 * `perTurn` of `Infinity` lets every message through at once; anything else but a whole number
 * of at least 1 is a `CONFIG` error.
 *
 * @example
 * ```ts
 * const gate = createTurnGate(8)
 * const dispatch = async (m: PeerMessage) => {
 *   const wait = gate() // undefined: start now, without a turn of the microtask queue
 *   if (wait !== undefined) await wait
 *   ...
 * }
 * ```
 */
export function createTurnGate(
  perTurn: number,
  endWindow: (f: () => void) => void = afterTwoTurns,
): TurnGate {
  if (perTurn === Infinity) return () => undefined
  if (!Number.isInteger(perTurn) || perTurn < 1)
    throw new ChanvmError(
      'CONFIG',
      `messagesPerTurn is ${perTurn}: a whole number of at least 1, or Infinity`,
    )
  let used = 0 // messages started in the open window
  const waiting: (() => void)[] = []
  let open = false
  /** Ends the window; the next starts with the first waiting messages, if any. */
  const next = () => {
    open = false
    used = 0
    const n = Math.min(perTurn, waiting.length)
    const starting = waiting.splice(0, n)
    if (n > 0) openWindow(n)
    for (const start of starting) start()
  }
  const openWindow = (n: number) => {
    used = n
    open = true
    endWindow(next)
  }
  return () => {
    if (waiting.length === 0 && used < perTurn) {
      if (open) used++
      else openWindow(1)
      return undefined
    }
    return new Promise<void>((resolve) => waiting.push(resolve))
  }
}
