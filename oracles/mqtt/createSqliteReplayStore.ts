import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { ReplayEntry, ReplayStore } from './replayStore.ts'
import { MAX_REPLAY_WINDOW, slideReplayWindow, type ReplayWindow } from './slideReplayWindow.ts'

/** Options of {@link createSqliteReplayStore}: a file of its own, or a database the caller owns. */
export type SqliteReplayStoreOptions = (
  | {
      /** A SQLite file, created with its folder; opened in WAL mode with `synchronous = FULL`. */
      path: string
    }
  | {
      /**
       * An open better-sqlite3 database (the handler's own): the store adds its two tables to it,
       * so that a handler can record the mark in the same transaction as its own write. The caller
       * chooses its journal mode and `synchronous` setting (WAL and FULL for the guarantee) and closes it.
       */
      db: Database.Database
    }
) & {
  /** Most recorded messages kept with their digest (the oldest are pruned). Default 100,000. */
  keepRecent?: number
}

/** The SQLite replay store, with the database it writes to. */
export type SqliteReplayStore = ReplayStore & { readonly db: Database.Database }

const SEQ_DIGITS = 20 // 2^64 - 1 has 20 decimal digits
/** Every sequence of a window taken. */
const ALL = (1n << BigInt(MAX_REPLAY_WINDOW)) - 1n

/** A uint64 as fixed-width decimal text, so that SQLite's text order and `max` follow the numbers. */
function encodeSequence(sequence: bigint): string {
  if (sequence < 0n || sequence >= 1n << 64n)
    throw new ChanvmError('INVALID_ARGUMENT', `sequence ${sequence} is not a uint64`)
  return sequence.toString().padStart(SEQ_DIGITS, '0')
}

/**
 * Durable replay marks in SQLite: a table of stream to its anti-replay window (the mark and the
 * `MAX_REPLAY_WINDOW` bits below it, as hex text; never pruned) and a table
 * of the latest recorded messages with their digest (pruned to `keepRecent`, oldest first). Each
 * `record` is one transaction (a savepoint inside a transaction the caller opened), durable when it
 * returns with `synchronous = FULL`. A uint64 sequence is stored as 20-digit text.
 *
 * @example
 * ```ts
 * const replayStore = createSqliteReplayStore({ path: `${dataDir}/inputs.sqlite` })
 * const source = await createMqttInputSource({ url, chainId, devices, clientId: 'node-1', replayStore })
 * ```
 */
export function createSqliteReplayStore(options: SqliteReplayStoreOptions): SqliteReplayStore {
  const keepRecent = options.keepRecent ?? 100_000
  if (!Number.isInteger(keepRecent) || keepRecent < 1)
    throw new ChanvmError('INVALID_ARGUMENT', 'keepRecent must be an integer >= 1')
  let db: Database.Database
  const owned = 'path' in options
  if ('path' in options) {
    try {
      mkdirSync(dirname(options.path), { recursive: true })
      db = new Database(options.path)
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      db.pragma('busy_timeout = 5000')
    } catch (cause) {
      throw new ChanvmError('STORE_ERROR', `cannot open the replay store ${options.path}`, { cause })
    }
  } else db = options.db
  db.exec(`
    CREATE TABLE IF NOT EXISTS chanvm_replay_marks (
      stream TEXT PRIMARY KEY,
      mark TEXT NOT NULL,
      seen TEXT
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS chanvm_replay_recent (
      id INTEGER PRIMARY KEY,
      stream TEXT NOT NULL,
      sequence TEXT NOT NULL,
      digest TEXT NOT NULL,
      UNIQUE (stream, sequence)
    );
  `)
  // A store written before windows has no `seen`: every sequence at or below its mark counts as taken.
  const columns = db.prepare('PRAGMA table_info(chanvm_replay_marks)').all() as { name: string }[]
  if (!columns.some((c) => c.name === 'seen')) db.exec('ALTER TABLE chanvm_replay_marks ADD COLUMN seen TEXT')
  const readMark = db.prepare('SELECT mark, seen FROM chanvm_replay_marks WHERE stream = ?')
  const writeMark = db.prepare(
    `INSERT INTO chanvm_replay_marks (stream, mark, seen) VALUES (?, ?, ?)
     ON CONFLICT (stream) DO UPDATE SET mark = excluded.mark, seen = excluded.seen`,
  )
  const remember = db.prepare(
    'INSERT OR IGNORE INTO chanvm_replay_recent (stream, sequence, digest) VALUES (?, ?, ?)',
  )
  const prune = db.prepare(
    'DELETE FROM chanvm_replay_recent WHERE id <= (SELECT max(id) FROM chanvm_replay_recent) - ?',
  )
  const find = db.prepare('SELECT digest FROM chanvm_replay_recent WHERE stream = ? AND sequence = ?')
  const allMarks = db.prepare('SELECT stream, mark, seen FROM chanvm_replay_marks')
  const latest = db.prepare(
    'SELECT stream, sequence, digest FROM chanvm_replay_recent ORDER BY id DESC LIMIT ?',
  )
  let sincePrune = 0
  const pruneEvery = Math.max(1, Math.min(1_000, Math.floor(keepRecent / 10)))
  const recordTx = db.transaction((entry: ReplayEntry, sequence: string) => {
    const row = readMark.get(entry.stream) as { mark: string; seen: string | null } | undefined
    const window: ReplayWindow | undefined =
      row === undefined
        ? undefined
        : { mark: BigInt(row.mark), seen: row.seen === null ? ALL : BigInt(row.seen) }
    const slid = slideReplayWindow(window, entry.sequence, MAX_REPLAY_WINDOW)
    if (slid.verdict === 'accepted')
      writeMark.run(entry.stream, encodeSequence(slid.window.mark), `0x${slid.window.seen.toString(16)}`)
    remember.run(entry.stream, sequence, entry.digest.toLowerCase())
    if (++sincePrune >= pruneEvery) {
      sincePrune = 0
      prune.run(keepRecent)
    }
  })
  const recordAllTx = db.transaction((entries: readonly ReplayEntry[]) => {
    for (const entry of entries) recordTx(entry, encodeSequence(entry.sequence))
  })
  let closed = false

  return {
    db,
    load(maxRecent) {
      const marks = (allMarks.all() as { stream: string; mark: string; seen: string | null }[]).map((r) =>
        r.seen === null
          ? { stream: r.stream, mark: BigInt(r.mark) }
          : { stream: r.stream, mark: BigInt(r.mark), seen: BigInt(r.seen) },
      )
      const rows = latest.all(Math.max(0, Math.floor(maxRecent))) as {
        stream: string
        sequence: string
        digest: Hex
      }[]
      const recent = rows
        .reverse()
        .map((r) => ({ stream: r.stream, sequence: BigInt(r.sequence), digest: r.digest }))
      return { marks, recent }
    },
    record(entry) {
      const sequence = encodeSequence(entry.sequence)
      try {
        recordTx(entry, sequence)
      } catch (cause) {
        throw new ChanvmError('STORE_ERROR', `cannot record ${entry.stream} ${entry.sequence}`, { cause })
      }
    },
    recordAll(entries) {
      if (entries.length === 0) return
      try {
        recordAllTx(entries)
      } catch (cause) {
        throw new ChanvmError('STORE_ERROR', `cannot record ${entries.length} replay marks`, { cause })
      }
    },
    holds(entry) {
      if (entry.sequence < 0n || entry.sequence >= 1n << 64n) return false
      const row = find.get(entry.stream, encodeSequence(entry.sequence)) as { digest: string } | undefined
      return row !== undefined && row.digest === entry.digest.toLowerCase()
    },
    close() {
      if (closed) return
      closed = true
      if (owned) db.close()
    },
  }
}
