import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import type { Hex } from 'viem'
import { ChanvmError } from '../engine/errors.ts'

/**
 * Reads the ids of the opens this node cancelled (`cancelOpen`), lower case; an empty set when the
 * file does not exist. A file that is not a list of channel ids is `CONFIG`: the node does not start
 * on a list it cannot read, since it would then deposit into a channel it was told to drop.
 *
 * @example
 * ```ts
 * const cancelled = readCancelledOpens(join(dataDir, 'cancelled-opens.json'))
 * ```
 */
export function readCancelledOpens(path: string): Set<string> {
  if (!existsSync(path)) return new Set()
  let ids: unknown
  try {
    ids = (JSON.parse(readFileSync(path, 'utf8')) as { cancelled?: unknown }).cancelled
  } catch (cause) {
    throw new ChanvmError('CONFIG', `cannot read the cancelled opens in ${path}`, { cause })
  }
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(id)))
    throw new ChanvmError('CONFIG', `${path} is not a list of cancelled channel ids`)
  return new Set((ids as string[]).map((id) => id.toLowerCase()))
}

/**
 * Writes the ids of the cancelled opens to `path`, on disk before it returns (a temporary file,
 * fsync, rename), so a crash leaves the old list or the new one.
 *
 * @example
 * ```ts
 * writeCancelledOpens(path, new Set([...cancelled, channelId.toLowerCase()]))
 * ```
 */
export function writeCancelledOpens(path: string, ids: ReadonlySet<string> | readonly Hex[]): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, `${JSON.stringify({ cancelled: [...ids].sort() }, null, 2)}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}
