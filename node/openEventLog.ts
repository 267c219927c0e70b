// Event ids that stay monotonic across restarts, and the last events held in memory for replay.
// Ids are reserved in blocks: the first id not reserved yet is written to `dataDir/events.next`
// (temporary file, fsync, rename, fsync of the folder) before any id of the block is used, so a
// node that crashes never issues an id twice; a restart starts at the next block. The next block
// is reserved ahead, off the event loop, once half of the current one is used: a node does not
// stop for two disk syncs every block. Only when the block runs out before that write is durable
// is the next one written at once, as at the start.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { ChanvmError } from '../engine/errors.ts'
import { eventReplay } from './eventReplay.ts'
import type { EventReplay, HeldEvent, NodeEvent } from './types.ts'

/** The file in `dataDir` holding the first event id not yet reserved. */
export const EVENT_IDS_FILE = 'events.next'

/** A node's event ids and the events it still holds. */
export type EventLog = {
  /** Gives `event` the next id and keeps it (dropping the oldest beyond the capacity). */
  append(event: NodeEvent): number
  /** What a client that last saw `lastId` gets back (see {@link eventReplay}). */
  since(lastId: number): EventReplay
  /** The last id issued, 0 before the first in this run's block. */
  readonly latest: number
  /** The first id not reserved on disk: every id below it is durably reserved (a write ahead counts once its folder is synced). */
  readonly reserved: number
  /** Resolves once no reservation is being written ahead; none starts after. Ids are still issued. */
  close(): Promise<void>
}

export type EventLogOptions = {
  dataDir: string
  /** Ids reserved per write (default 1,000). */
  blockSize?: number
  /** Events held for replay (default 1,000). */
  capacity?: number
}

function syncFolder(dir: string): void {
  const dirFd = openSync(dir, 'r')
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
  }
}

function writeDurably(dir: string, path: string, text: string): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  syncFolder(dir)
}

/** Writes `text` to `tmp` and syncs it, on the thread pool. */
async function writeSynced(tmp: string, text: string): Promise<void> {
  const file = await open(tmp, 'w')
  try {
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
}

/** Syncs folder `dir` on the thread pool. */
async function syncFolderAsync(dir: string): Promise<void> {
  const folder = await open(dir, 'r')
  try {
    await folder.sync()
  } finally {
    await folder.close()
  }
}

/**
 * Opens the event log of the node whose data folder is `dataDir` (which the node holds locked):
 * reads the first id not reserved (1 when there is no file), reserves a block from there, and
 * issues ids from it. A file that does not hold a positive integer is a `CONFIG` error.
 */
export function openEventLog(options: EventLogOptions): EventLog {
  const blockSize = options.blockSize ?? 1_000
  const capacity = options.capacity ?? 1_000
  const path = join(options.dataDir, EVENT_IDS_FILE)
  let start = 1
  let text: string | undefined
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ChanvmError('CONFIG', `cannot read ${path}`, { cause })
  }
  if (text !== undefined) {
    if (!/^[1-9][0-9]*\n?$/.test(text) || !Number.isSafeInteger(Number(text.trim())))
      throw new ChanvmError('CONFIG', `${path} does not hold an event id`)
    start = Number(text.trim())
  }
  let next = start
  /** The first id not reserved on disk: ids below it may be issued. */
  let limit = start
  /**
   * The next block's reservation while it is written ahead: its limit, and whether a reservation
   * made at once since took its place (its file is then not renamed into place).
   */
  let ahead: { limit: number; replaced: boolean } | undefined
  /** A reservation ahead failed (or the log is closed): the next blocks are reserved at once, where a failure is thrown. */
  let aheadFailed = false
  /** The write ahead in flight (one at a time: they share the temporary file), if any. */
  let writing: Promise<void> | undefined
  const reserve = (): void => {
    // At least past the block being written ahead: the file never goes back to a smaller limit.
    const target = Math.max(next + blockSize, ahead?.limit ?? 0)
    writeDurably(options.dataDir, path, `${target}\n`)
    limit = target
    if (ahead !== undefined) ahead.replaced = true
    ahead = undefined
  }
  const reserveAhead = (): void => {
    const mine = { limit: limit + blockSize, replaced: false }
    ahead = mine
    const tmp = `${path}.ahead`
    writing = writeSynced(tmp, `${mine.limit}\n`)
      .then(() => {
        if (mine.replaced) return undefined
        // Renamed on this thread, where a reservation at once renames too: the file's last
        // rename is the larger limit.
        renameSync(tmp, path)
        return syncFolderAsync(options.dataDir).then(() => {
          limit = Math.max(limit, mine.limit)
        })
      })
      .catch(() => {
        aheadFailed = true
      })
      .finally(() => {
        if (ahead === mine) ahead = undefined
        writing = undefined
      })
  }
  reserve()
  const held: HeldEvent[] = []
  let dropped = false
  return {
    append(event) {
      if (next >= limit) reserve()
      const id = next++
      if (writing === undefined && !aheadFailed && limit - next <= blockSize / 2) reserveAhead()
      held.push({ id, event })
      if (held.length > capacity) {
        held.shift()
        dropped = true
      }
      return id
    },
    since(lastId) {
      const floor = dropped ? (held[0]?.id ?? next) : start
      return eventReplay(held, lastId, floor, next - 1)
    },
    get latest() {
      return next - 1
    },
    get reserved() {
      return limit
    },
    close() {
      aheadFailed = true
      return writing ?? Promise.resolve()
    },
  }
}
