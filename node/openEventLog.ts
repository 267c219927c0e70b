// Event ids that stay monotonic across restarts, and the last events held in memory for replay.
// Ids are reserved in blocks: the first id not reserved yet is written to `dataDir/events.next`
// (temporary file, fsync, rename, fsync of the folder) before any id of the block is used, so a
// node that crashes never issues an id twice; a restart starts at the next block.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
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
}

export type EventLogOptions = {
  dataDir: string
  /** Ids reserved per write (default 1,000). */
  blockSize?: number
  /** Events held for replay (default 1,000). */
  capacity?: number
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
  const dirFd = openSync(dir, 'r')
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
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
  let limit = start
  const reserve = (): void => {
    limit = next + blockSize
    writeDurably(options.dataDir, path, `${limit}\n`)
  }
  reserve()
  const held: HeldEvent[] = []
  let dropped = false
  return {
    append(event) {
      if (next >= limit) reserve()
      const id = next++
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
  }
}
