import type Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { ChanvmError } from '../errors.ts'
import type { LogSync } from './createLogSync.ts'

/** A store call's failure as the store reports it: `STORE_ERROR`, unless it already is a ChanvmError. */
export const storeFailure = (what: string, e: unknown) =>
  e instanceof ChanvmError ? e : new ChanvmError('STORE_ERROR', `store: ${what} failed`, { cause: e })

/** The SQLite store's writes and reads, committed together and made durable by the write log's sync. */
export type GroupCommit = ReturnType<typeof createGroupCommit>

/**
 * How the SQLite store's calls reach the database (see the rules below); `log` is the write log's
 * own sync, or undefined when SQLite syncs every commit itself.
 *
 * @example
 * ```ts
 * const { write, read, whenDurable, flush } = createGroupCommit({ db, log })
 * await write('putChannel', () => q.putChannel.run(...), channelId)
 * ```
 */
export function createGroupCommit(o: {
  db: Database.Database
  log: LogSync | undefined
  /** Called after each commit with its number of writes, when there is no write log to sync. */
  onCommit?: (writes: number) => void
}) {
  const { db, log } = o
  const key = (id: Hex) => id.toLowerCase()
  // Group commit: the writes asked for in one turn of the event loop, from any channel, run in
  // one transaction, in the order they were asked; a write that fails takes back only itself
  // (`commitTogether` below). The log is then synced on the thread pool while the event loop goes
  // on (unless the turn wrote only co-signed states, below); commits made meanwhile wait for the
  // next sync, which serves them all. A write's promise settles once a sync that started after its
  // commit has finished, so nothing is reported durable before it is; a write asked for as written
  // only (`writeSignedState`) settles at its commit and starts no sync, and `whenDurable` asks for
  // the sync (at once, or after the time it may linger, unless another write's sync covers it
  // first). A read first commits what is queued: it sees every write asked for before it, and
  // resolves once what it read is durable. A failed sync fails the store: every later call
  // rejects, since what the disk holds is no longer known.
  type Write = {
    what: string
    run: () => unknown
    /** The key of what it writes (see `scopeOf`), if a channel's. */
    scope: string | undefined
    /** Settles at its commit, before the sync (`writeSignedState`). */
    writtenOnly: boolean
    resolve: (v: unknown) => void
    reject: (e: unknown) => void
  }
  let queued: Write[] = []
  const lastCommitOf = new Map<string, number>() // scope -> the last commit that wrote it
  /**
   * What a read waits for: a channel's durable writes under its id, its co-signed states written
   * by `writeSignedState` under `written:` and its id, which only reads of co-signed states wait for.
   */
  const scopeOf = (channelId: Hex, writtenOnly = false) => `${writtenOnly ? 'written:' : ''}${key(channelId)}`
  type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }
  // A turn's writes first run side by side in its transaction, without a savepoint each (two
  // statements fewer per write); only when one of them throws is the turn taken back and run again
  // by `commitTurn`, each write in a savepoint of its own, so that the failed one takes back only
  // itself. A write only runs statements, so running it again after a rollback is safe.
  // The transaction functions are made once: better-sqlite3 builds four wrappers for each one.
  let writeThrew = false
  const commitTogether = db.transaction((writes: Write[], outcomes: Outcome[]) => {
    for (const w of writes) {
      try {
        outcomes.push({ ok: true, value: w.run() })
      } catch (error) {
        writeThrew = true
        throw error
      }
    }
  })
  const inSavepoint = db.transaction((run: () => unknown) => run())
  const commitTurn = db.transaction((writes: Write[], outcomes: Outcome[]) => {
    for (const w of writes) {
      try {
        outcomes.push({ ok: true, value: inSavepoint(w.run) })
      } catch (error) {
        // Some errors (a full disk, an I/O error, no memory) make SQLite take back the whole
        // transaction, not only the write's savepoint: the turn fails with that error, and the
        // writes after it do not run outside the turn's transaction.
        if (!db.inTransaction) throw error
        outcomes.push({ ok: false, error })
      }
    }
  })
  const flush = () => {
    if (queued.length === 0) return
    const writes = queued
    queued = []
    const outcomes: Outcome[] = []
    try {
      if (log?.failure() !== undefined) throw log.failure()
      writeThrew = false
      try {
        commitTogether.immediate(writes, outcomes)
      } catch (e) {
        // Neither a write's: the transaction could not begin or commit, and the turn fails.
        if (!writeThrew) throw e
        outcomes.length = 0
        commitTurn.immediate(writes, outcomes)
      }
    } catch (e) {
      for (const w of writes) w.reject(storeFailure(w.what, e))
      return
    }
    const settle = (writtenOnly: boolean) =>
      writes.forEach((w, i) => {
        if (w.writtenOnly !== writtenOnly) return
        const o = outcomes[i]
        if (o?.ok === true) w.resolve(o.value)
        else w.reject(storeFailure(w.what, o?.error))
      })
    if (log === undefined) {
      o.onCommit?.(writes.length)
      settle(true)
      settle(false)
      return
    }
    const seq = log.commit(writes.length)
    if (lastCommitOf.size > 4096)
      for (const [c, at] of lastCommitOf) if (log.isDurable(at)) lastCommitOf.delete(c)
    for (const w of writes) if (w.scope !== undefined) lastCommitOf.set(w.scope, seq)
    settle(true)
    // Co-signed states written only (`writeSignedState`) start no sync: `whenDurable` asks for it.
    if (writes.every((w) => w.writtenOnly)) return
    log.whenDurable(seq).then(
      () => settle(false),
      (e: unknown) => {
        for (const w of writes) if (!w.writtenOnly) w.reject(storeFailure(w.what, e))
      },
    )
  }
  /**
   * Queues `run` for this turn's transaction. `run` must only run SQL on its own inputs: when a
   * write of the turn fails, the turn is rolled back and every write runs again (each in a
   * savepoint), so anything else it did (a cache, a counter) would happen twice.
   */
  const write = <T>(
    what: string,
    run: () => T,
    channelId?: Hex,
    opts: { writtenOnly?: boolean } = {},
  ): Promise<T> => {
    if (!db.open) return Promise.reject(storeFailure(what, new Error('the store is closed')))
    if (queued.length === 0) setImmediate(flush)
    const writtenOnly = opts.writtenOnly === true
    const scope = channelId === undefined ? undefined : scopeOf(channelId, writtenOnly)
    return new Promise<T>((resolve, reject) => {
      queued.push({ what, run, scope, writtenOnly, resolve: resolve as (v: unknown) => void, reject })
    })
  }
  /**
   * A read. Of one channel (`channelId`), it waits only for the commits that wrote that channel,
   * since it reads nothing else (and for its co-signed states written by `writeSignedState` only
   * when it reads co-signed states, `states`); otherwise for every commit made so far.
   */
  const read = <T>(what: string, f: () => T, channelId?: Hex, states = false): Promise<T> => {
    let value: T
    try {
      if (log?.failure() !== undefined) throw log.failure()
      flush()
      value = f()
    } catch (e) {
      return Promise.reject(storeFailure(what, e))
    }
    if (log === undefined) return Promise.resolve(value)
    const needed =
      channelId === undefined
        ? log.last()
        : Math.max(
            lastCommitOf.get(scopeOf(channelId)) ?? 0,
            states ? (lastCommitOf.get(scopeOf(channelId, true)) ?? 0) : 0,
          )
    return log.isDurable(needed) ? Promise.resolve(value) : log.whenDurable(needed).then(() => value)
  }
  /** Resolves once every write asked for so far is durable; see `LogSync.whenDurable` for `lingerMs`. */
  const whenDurable = (lingerMs?: number): Promise<void> => {
    try {
      if (log?.failure() !== undefined) throw log.failure()
      flush()
    } catch (e) {
      return Promise.reject(storeFailure('whenDurable', e))
    }
    if (log === undefined || log.isDurable(log.last())) return Promise.resolve()
    return log
      .whenDurable(log.last(), lingerMs)
      .catch((e: unknown) => Promise.reject(storeFailure('whenDurable', e)))
  }
  return { write, read, whenDurable, flush }
}
