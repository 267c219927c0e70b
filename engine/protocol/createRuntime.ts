import type { SignedState } from '../channel/types.ts'
import type { Resolution } from './effects.ts'
import { lower, type ChannelMachine } from './machine.ts'
import type { PartyEvent } from './types.ts'

/** Per channel, what is not data: its queue, who waits for a newer state, its re-sync timer, its open. */
type ChannelRuntime = {
  queue: Promise<unknown>
  waiters: Set<() => void>
  syncTimer: NodeJS.Timeout | undefined
  openResult: Promise<SignedState> | undefined
}

type Kind = 'verdict' | 'result' | 'open' | 'local'
const kindOf = (v: Resolution): Kind =>
  'verdict' in v
    ? 'verdict'
    : 'result' in v
      ? 'result'
      : 'opened' in v || 'openFailed' in v
        ? 'open'
        : 'local'

/** What {@link createRuntime} returns. */
export type Runtime = ReturnType<typeof createRuntime>

/**
 * What a party keeps beside its channel machines, which stay plain data: its event listener and
 * counters, one queue per channel,
 * the callers waiting for a newer latest state, the re-sync timers, the opens in progress, and
 * the callers waiting on an id (an update for its proposal's verdict and result, an open for its
 * end), whom `resolve` effects reach. No I/O.
 *
 * @example
 * ```ts
 * const rt = createRuntime()
 * const verdict = rt.expect(id, 'verdict')
 * rt.resolve(id, { verdict: 'lost' })
 * ```
 */
export function createRuntime(onEvent?: ((e: PartyEvent) => void) | undefined) {
  const counters: Record<string, number> = {}
  const emit = (e: PartyEvent) => {
    try {
      onEvent?.(e)
    } catch {
      /* a listener's failure is not the protocol's */
    }
  }
  const count = (reason: string) => (counters[reason] = (counters[reason] ?? 0) + 1)
  const runtimes = new Map<string, ChannelRuntime>()
  const of = (ch: ChannelMachine): ChannelRuntime => {
    let r = runtimes.get(ch.key)
    if (r === undefined) {
      r = { queue: Promise.resolve(), waiters: new Set(), syncTimer: undefined, openResult: undefined }
      runtimes.set(ch.key, r)
    }
    return r
  }
  const waiting = new Map<string, ((v: Resolution) => void)[]>()
  const keyOf = (id: string, kind: Kind) => `${kind}:${lower(id)}`
  return {
    of,
    /** Tells the party's listener. */
    emit,
    /** Counts a refusal or a drop by reason. */
    count,
    /** Counts and reports a message that is ignored. */
    drop(reason: string, message: string): void {
      count(reason)
      emit({ type: 'dropped', reason, message })
    },
    /** Counts of refused and dropped messages by reason. */
    stats: (): Record<string, number> => ({ ...counters }),
    /** Runs `f` after everything queued for the channel: one message or local action at a time. */
    serial<T>(ch: ChannelMachine, f: () => Promise<T>): Promise<T> {
      const r = of(ch)
      const p = r.queue.then(f)
      r.queue = p.catch(() => undefined)
      return p
    },
    /** A promise of the next resolution of `kind` for `id`. */
    expect(id: string, kind: Kind): Promise<Resolution> {
      const k = keyOf(id, kind)
      return new Promise((res) => waiting.set(k, [...(waiting.get(k) ?? []), res]))
    },
    /** Hands `v` to whoever waits on `id` for its kind; nobody waiting is fine (a late verdict). */
    resolve(id: string, v: Resolution): void {
      const k = keyOf(id, kindOf(v))
      const list = waiting.get(k)
      waiting.delete(k)
      for (const res of list ?? []) res(v)
    },
    /** Stops waiting on `id`. */
    forget(id: string): void {
      for (const kind of ['verdict', 'result', 'open', 'local'] as const) waiting.delete(keyOf(id, kind))
    },
    /** Calls `f` whenever the channel's latest state changes; returns the function that stops it. */
    watchLatest(ch: ChannelMachine, f: () => void): () => void {
      of(ch).waiters.add(f)
      return () => void of(ch).waiters.delete(f)
    },
    /** Wakes whoever watches the channel's latest state. */
    wake(ch: ChannelMachine): void {
      for (const w of [...of(ch).waiters]) w()
    },
    /** Stops every re-sync timer (the party closes). */
    stopTimers(): void {
      for (const r of runtimes.values()) clearTimeout(r.syncTimer)
    },
    /** What is queued on every channel, to wait for at close. */
    queues: (): Promise<unknown>[] => [...runtimes.values()].map((r) => r.queue),
  }
}
