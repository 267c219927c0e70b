import { closeSync, fstatSync, fsync, fsyncSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

/** The durability of a SQLite write log that the store syncs itself (see {@link createLogSync}). */
export type LogSync = {
  /** Counts a commit of `writes` writes and returns its number (1, 2, …). */
  commit(writes: number): number
  /** The number of the last commit made (0 before any). */
  last(): number
  /** Whether a finished sync covers commit `seq`. */
  isDurable(seq: number): boolean
  /**
   * Resolves once commits up to `seq` (default: all made so far) are durable; rejects once a sync
   * failed. With `lingerMs`, starts no sync for them before that many milliseconds have passed: a
   * sync that another wait starts meanwhile covers them, and its disk sync serves both.
   */
  whenDurable(seq?: number, lingerMs?: number): Promise<void>
  /** The failure of a sync, once one failed: what the disk holds is then no longer known. */
  failure(): unknown
  /** Syncs what is committed (after a running sync), then closes the log's handle. */
  close(): Promise<void>
}

/** The longest a wait may linger before its sync (a larger `lingerMs` counts as this). */
export const MAX_LINGER_MS = 60_000

/**
 * Syncs the write log `${path}-wal` of a SQLite database in WAL mode on Node's thread pool, off
 * the event loop. A commit counts as durable once a sync that began after it has finished. A sync
 * starts only when a wait needs it: at once, or once a lingering wait's time is up; one sync
 * serves every commit made before it started, and the commits made while it runs share the next
 * one (group commit). A failed sync fails every later wait with `failed(e)`. Opening syncs the log
 * and its folder once.
 *
 * @example
 * ```ts
 * const log = createLogSync({ path, shared: false, failed: (e) => e })
 * db.transaction(...)()
 * await log.whenDurable(log.commit(1))
 * ```
 */
export function createLogSync(opts: {
  path: string
  /**
   * Whether other connections may have the database open: one of them may then replace the log
   * file (the last to close deletes it), so each sync first checks that the handle is still the
   * log's. Alone (SQLite's exclusive locking mode) nothing but this connection touches the file.
   */
  shared: boolean
  /** Syncs an open file to disk; default `fs.fsync` on the thread pool (a seam for tests). */
  syncFile?: (fd: number) => Promise<void>
  /** Called after each sync with the number of writes it made durable. */
  onSynced?: (writes: number) => void
  /** The error a failed sync becomes. */
  failed: (e: unknown) => unknown
}): LogSync {
  let wal: { fd: number; ino: number } | undefined = openWal(opts.path)
  let committed = 0 // commits made, in order
  let durable = 0 // commits a finished sync covers
  let pendingWrites = 0 // writes committed since the last sync started
  let syncing: Promise<void> | undefined
  let broken: unknown
  /** Who waits for which commit, and from when (`performance.now()`) a sync may start for it. */
  let waiters: { seq: number; due: number; resolve: () => void; reject: (e: unknown) => void }[] = []
  let lingering: { timer: NodeJS.Timeout; due: number } | undefined
  const syncFile =
    opts.syncFile ??
    ((fd: number) => new Promise<void>((res, rej) => fsync(fd, (e) => (e === null ? res() : rej(e)))))

  const settleWaiters = () => {
    const waiting: typeof waiters = []
    const ready: typeof waiters = []
    for (const w of waiters) (broken !== undefined || w.seq <= durable ? ready : waiting).push(w)
    waiters = waiting
    for (const w of ready) {
      if (broken !== undefined) w.reject(broken)
      else w.resolve()
    }
  }
  const startSync = () => {
    if (lingering !== undefined) clearTimeout(lingering.timer)
    lingering = undefined
    if (syncing !== undefined || broken !== undefined || durable >= committed) return
    const target = committed
    const writes = pendingWrites
    pendingWrites = 0
    syncing = Promise.resolve().then(async () => {
      try {
        if (wal === undefined) throw new Error('the write log is not open')
        if (opts.shared) wal = reopenIfReplaced(opts.path, wal)
        await syncFile(wal.fd)
        durable = target
        opts.onSynced?.(writes)
      } catch (e) {
        broken = opts.failed(e)
      }
      syncing = undefined
      settleWaiters()
      syncWhenDue()
    })
  }
  /** Starts the sync at `due` (a `performance.now()` time), unless a sync is timed sooner. */
  const syncAt = (due: number) => {
    const wait = due - performance.now()
    if (wait <= 0) return startSync()
    if (lingering !== undefined && lingering.due <= due) return
    if (lingering !== undefined) clearTimeout(lingering.timer)
    lingering = { timer: setTimeout(startSync, wait), due }
  }
  /** After a sync: starts the next if a wait needs one now, or times the first lingering wait's. */
  const syncWhenDue = () => {
    if (syncing !== undefined || broken !== undefined) return
    let due = Infinity
    for (const w of waiters) if (w.due < due) due = w.due // each still waits: settled ones are gone
    if (due !== Infinity) syncAt(due)
  }
  const whenDurable = (seq = committed, lingerMs = 0): Promise<void> => {
    if (broken !== undefined) return Promise.reject(broken)
    if (durable >= seq) return Promise.resolve()
    const linger = Math.min(lingerMs, MAX_LINGER_MS)
    const due = linger > 0 ? performance.now() + linger : 0
    const p = new Promise<void>((resolve, reject) => waiters.push({ seq, due, resolve, reject }))
    // A running sync's end looks at every wait (`syncWhenDue`); meanwhile nothing is timed.
    if (due === 0) startSync()
    else if (syncing === undefined) syncAt(due)
    return p
  }
  return {
    commit: (writes) => {
      pendingWrites += writes
      return ++committed
    },
    last: () => committed,
    isDurable: (seq) => durable >= seq,
    whenDurable,
    failure: () => broken,
    close: async () => {
      // What is committed is synced now, a lingering wait's too: nothing waits past the close.
      for (;;) {
        startSync()
        if (syncing === undefined) break
        await syncing
      }
      if (wal !== undefined) closeSync(wal.fd)
      wal = undefined
    },
  }
}

function openWal(path: string): { fd: number; ino: number } {
  const fd = openSync(`${path}-wal`, 'r')
  try {
    fsyncSync(fd)
    syncFolder(dirname(path))
    return { fd, ino: fstatSync(fd).ino }
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

/** The open write log, or a new handle if the file at its path is no longer the one held open. */
function reopenIfReplaced(path: string, wal: { fd: number; ino: number }): { fd: number; ino: number } {
  let ino: number | undefined
  try {
    ino = statSync(`${path}-wal`).ino
  } catch {
    ino = undefined
  }
  if (ino === wal.ino) return wal
  closeSync(wal.fd)
  return openWal(path)
}

/** Syncs a folder's entries (a new file's name) to disk; where folders cannot be opened, nothing. */
function syncFolder(path: string): void {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return
  }
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
