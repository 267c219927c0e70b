import type { Env } from '../engine/channel/types.ts'

/** Options of {@link createHeadClock}. */
export type HeadClockOptions = {
  /** Reads the chain's latest block (number and timestamp): one RPC. */
  readHead: () => Promise<Env>
  /**
   * How old a head seen by {@link HeadClock.see} or read before may be and still serve a step
   * (milliseconds). Older, the next {@link HeadClock.now} reads the head again. The node passes
   * twice its polling interval, so while its chain probe runs no step waits for the chain.
   */
  maxAgeMs: number
  /** The wall clock in milliseconds. Default `Date.now`. */
  nowMs?: () => number
}

/** The chain head as the node follows it: what a step is evaluated at. */
export type HeadClock = {
  /**
   * The latest head seen, if it is at most `maxAgeMs` old; otherwise one read of the chain,
   * shared by every caller that asks while it runs. Never goes back to a lower block.
   */
  now(): Env | Promise<Env>
  /** Reads the chain's head now, whatever the age of the one held (shared by concurrent callers). */
  refresh(): Promise<Env>
  /** Takes in a head read elsewhere (the node's periodic chain probe). */
  see(head: Env): void
  /** The latest head seen and when (milliseconds of the wall clock), if any. */
  latest(): { head: Env; seenAt: number } | undefined
}

/**
 * The clock an off-chain step reads its `Env` from. Before it a step read the latest block from
 * the chain, the mover to propose and each peer to check the proposal: two RPCs on every step. The
 * node already reads the head on a timer (its chain probe) and hands each one to `see`, so a step
 * takes the head from memory; only when no head newer than `maxAgeMs` is known (the probe is late,
 * the node just started) does `now` read the chain, once for all who wait. A step evaluated at a
 * head one polling interval old is what a peer's tolerance allows (`envTolerance`).
 *
 * @example
 * ```ts
 * const head = createHeadClock({ readHead: async () => env, maxAgeMs: 2_000 })
 * head.see({ blockNumber: 7n, timestamp: 1_700_000_000n })
 * const env = await head.now() // block 7, no RPC
 * ```
 */
export function createHeadClock(options: HeadClockOptions): HeadClock {
  const nowMs = options.nowMs ?? Date.now
  let held: { head: Env; seenAt: number } | undefined
  let reading: Promise<Env> | undefined
  const see = (head: Env) => {
    // A lagging endpoint (a load balancer, a reorganisation) may answer a lower block: the clock
    // does not go back, but the head still counts as seen now.
    const keep = held !== undefined && held.head.blockNumber > head.blockNumber ? held.head : head
    held = { head: keep, seenAt: nowMs() }
  }
  const refresh = () =>
    (reading ??= options
      .readHead()
      .then((head) => {
        see(head)
        return held?.head ?? head
      })
      .finally(() => (reading = undefined)))
  return {
    now() {
      if (held !== undefined && nowMs() - held.seenAt <= options.maxAgeMs) return held.head
      return refresh()
    },
    refresh,
    see,
    latest: () => (held === undefined ? undefined : { head: { ...held.head }, seenAt: held.seenAt }),
  }
}
