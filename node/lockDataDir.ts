// One node per data folder: an exclusive SQLite lock on `dataDir/node.lock`, which the kernel
// releases when the holding process dies (a SIGKILLed node leaves nothing stuck behind).
import Database from 'better-sqlite3'
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ChanvmError } from '../engine/errors.ts'

/** The lock file in a node's data folder. */
export const LOCK_FILE = 'node.lock'
/** Who holds the lock (pid, host, since when): informative only, the lock itself decides. */
export const LOCK_OWNER_FILE = 'node.lock.owner.json'

/** A held data-folder lock. */
export type DataDirLock = {
  readonly path: string
  /** Lets the folder go (idempotent); a process that dies lets it go too. */
  release(): void
}

/** What the owner file says about the process holding the lock. */
export type LockOwner = { pid: number; host: string; since: string }

function readOwner(dir: string): LockOwner | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dir, LOCK_OWNER_FILE), 'utf8')) as Partial<LockOwner>
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.since === 'string')
      return { pid: v.pid, host: v.host, since: v.since }
  } catch {
    // no owner file, or one being rewritten: the holder is unknown
  }
  return undefined
}

/**
 * Takes the data folder `dir` (which must exist) for this process: opens `dir/node.lock` as a
 * SQLite database in exclusive locking mode and holds a write transaction on it, an OS file lock
 * (POSIX `fcntl`) that the kernel drops with the process, however it ends. A folder already held
 * by another node, in this process or another, is a `DATA_DIR_LOCKED` error naming the folder and
 * the holder's pid and host when known. A PID file alone would not do: PIDs are reused.
 *
 * @example
 * ```ts
 * const lock = lockDataDir(config.dataDir) // throws DATA_DIR_LOCKED when a node runs on it
 * try { ... } finally { lock.release() }
 * ```
 */
export function lockDataDir(dir: string): DataDirLock {
  const path = join(dir, LOCK_FILE)
  let db: Database.Database
  try {
    db = new Database(path, { timeout: 0 })
  } catch (cause) {
    throw new ChanvmError('CONFIG', `cannot open the lock file ${path}`, { cause })
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    // Held until release or death: the lock is the open write transaction.
    db.exec('BEGIN EXCLUSIVE')
  } catch (cause) {
    db.close()
    const busy = (cause as { code?: unknown }).code
    if (busy === 'SQLITE_BUSY' || busy === 'SQLITE_LOCKED') {
      const owner = readOwner(dir)
      const who =
        owner === undefined
          ? 'another process'
          : `pid ${owner.pid} on ${owner.host}, running since ${owner.since}`
      throw new ChanvmError(
        'DATA_DIR_LOCKED',
        `the data folder ${dir} is in use by another chanvm node (${who})`,
        {
          cause,
          details: [
            'one folder, one key, one node: two nodes could sign two states for one version',
            'stop the other node, or give this one its own dataDir',
          ],
        },
      )
    }
    throw new ChanvmError('CONFIG', `cannot lock the data folder ${dir}`, { cause })
  }
  const ownerPath = join(dir, LOCK_OWNER_FILE)
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() }
  try {
    writeFileSync(`${ownerPath}.tmp`, `${JSON.stringify(owner)}\n`)
    renameSync(`${ownerPath}.tmp`, ownerPath)
  } catch {
    // the owner file only informs a second node's message
  }
  let held = true
  return {
    path,
    release() {
      if (!held) return
      held = false
      if (readOwner(dir)?.pid === owner.pid) rmSync(ownerPath, { force: true })
      db.close()
    },
  }
}
