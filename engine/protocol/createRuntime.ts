import type { SignedState } from '../channel/types.ts'
import type { Resolution } from './effects.ts'
import { lower, type ChannelMachine } from './machine.ts'
import type { PartyEvent } from './types.ts'

/**
 * Per channel, what is not data: its queue, who waits for a newer state, its re-sync timer, its
 * open, and what waits for the co-signed states written but not yet durable.
 */
type ChannelRuntime = {
  queue: Promise<unknown>
  waiters: Set<() => void>
  syncTimer: NodeJS.Timeout | undefined
  openResult: Promise<SignedState> | undefined
  /** Settles once every co-signed state held so far is durable; rejects once one never will be. */
  durable: Promise<void>
  /**
   * What is done outside the party (events, resolutions, wake-ups), in order, each after the
   * durability held before it: true while every hold so far became durable. Undefined when
   * nothing is held.
   */
  outbox: Promise<boolean> | undefined
  /** While something is held: the latest co-signed state known durable. */
  shown: SignedState | undefined
  /** The store's error once a co-signed state held never becomes durable. */
  failed: { error: unknown } | undefined
  /** Who hears of that error (each removed once it heard, or stopped listening). */
  onFailed: Set<(e: unknown) => void>
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
      r = {
        queue: Promise.resolve(),
        waiters: new Set(),
        syncTimer: undefined,
        openResult: undefined,
        durable: Promise.resolve(),
        outbox: undefined,
        shown: undefined,
        failed: undefined,
        onFailed: new Set(),
      }
      runtimes.set(ch.key, r)
    }
    return r
  }
  /**
   * Appends `f` to the channel's outbox; the outbox is empty again once the last entry ran, unless
   * a hold failed: then it stays, and nothing more is done outside the party for the channel.
   * Emptied, it shows the machine's latest state, which may be newer than the last one held (one
   * taken through a durable write while the outbox was full): whoever watches hears of it then.
   */
  const append = (r: ChannelRuntime, f: (ok: boolean) => boolean | Promise<boolean>) => {
    const next = (r.outbox ?? Promise.resolve(true)).then(f)
    r.outbox = next
    void next.then((ok) => {
      if (!ok || r.outbox !== next) return
      r.outbox = undefined
      for (const w of [...r.waiters]) w()
    })
  }
  /**
   * Calls `f` with the store's error once a co-signed state the channel held never becomes
   * durable (at once if one did already); returns the function that stops it. After a failed
   * sync the outbox hands nothing over: what waits for it listens here too.
   */
  const onFailure = (ch: ChannelMachine, f: (e: unknown) => void): (() => void) => {
    const r = of(ch)
    if (r.failed !== undefined) {
      const { error } = r.failed
      queueMicrotask(() => f(error))
      return () => undefined
    }
    r.onFailed.add(f)
    return () => void r.onFailed.delete(f)
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
    /**
     * Holds what is done outside the party until `durable` (the store's `whenDurable` after a
     * co-signed state was written) resolves: every later {@link outside} call of the channel waits
     * for it, and {@link shownLatest} shows `before` until then, `after` once it resolved. If it
     * rejects (the store failed), nothing held or asked for later is done, `shownLatest` stays at
     * the last durable state, and the channel's {@link durableOf} and {@link raceFailure} reject with
     * the store's error, and {@link onFailure} hears of it.
     */
    hold(
      ch: ChannelMachine,
      durable: Promise<void>,
      latest: { before: SignedState | undefined; after: SignedState | undefined },
    ): void {
      const r = of(ch)
      if (r.outbox === undefined) r.shown = latest.before
      const all = Promise.all([r.durable, durable]).then(() => undefined)
      all.catch(() => undefined)
      r.durable = all
      append(r, (ok) =>
        durable.then(
          () => {
            if (ok) r.shown = latest.after
            return ok
          },
          (e: unknown) => {
            if (r.failed === undefined) {
              r.failed = { error: e }
              const heard = [...r.onFailed]
              r.onFailed.clear()
              for (const f of heard) f(e)
            }
            return false
          },
        ),
      )
    },
    /** Does `f` now, or, while the channel holds a co-signed state not yet durable, once it is. */
    outside(ch: ChannelMachine, f: () => void): void {
      const r = of(ch)
      if (r.outbox === undefined) return f()
      append(r, (ok) => {
        if (ok) f()
        return ok
      })
    },
    /**
     * Resolves once every co-signed state the channel held before this call is durable and what
     * waited for it was done; rejects with the store's error when one of them never will be.
     */
    durableOf(ch: ChannelMachine): Promise<void> {
      const r = of(ch)
      const durable = r.durable
      return r.outbox === undefined ? durable : r.outbox.then(() => durable)
    },
    onFailure,
    /** `p`, or the store's error once {@link onFailure} hears of one; listens only until `p` settles. */
    raceFailure<T>(ch: ChannelMachine, p: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const stop = onFailure(ch, reject)
        p.then(resolve, reject).finally(stop)
      })
    },
    /** The channel's latest co-signed state as the world may see it: durable. */
    shownLatest(ch: ChannelMachine): SignedState | undefined {
      const r = of(ch)
      return r.outbox === undefined ? ch.latest : r.shown
    },
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
    /** What is queued on every channel, and what waits for durability, to wait for at close. */
    queues: (): Promise<unknown>[] =>
      [...runtimes.values()].flatMap((r) => (r.outbox === undefined ? [r.queue] : [r.queue, r.outbox])),
  }
}
