// The last sequence number a device used, kept in a file next to its key so that a restarted
// device never signs two readings with the same number.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { ChanvmError } from '../../engine/errors.ts'

/** The sequence file of a key file: `<key>.seq`. */
export const sequenceFileOf = (keyPath: string): string => `${keyPath}.seq`

/**
 * The last sequence number recorded in `path`, 0 when there is no file yet. Throws `CONFIG` for a damaged file.
 *
 * @example
 * ```ts
 * const next = readLastSequence(sequenceFileOf('thermometer.key')) + 1n
 * ```
 */
export function readLastSequence(path: string): bigint {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return 0n
    throw new ChanvmError('CONFIG', `cannot read the sequence file ${path}`, { cause })
  }
  const t = text.trim()
  if (!/^(0|[1-9][0-9]{0,19})$/.test(t) || BigInt(t) >= 1n << 64n)
    throw new ChanvmError(
      'CONFIG',
      `${path} does not hold a sequence number (${JSON.stringify(t.slice(0, 30))}); refusing to guess one that may have been used`,
    )
  return BigInt(t)
}

/**
 * Records `sequence` as used, durably, before the reading that carries it leaves: writes a
 * temporary file, fsyncs it, renames it over `path` and fsyncs the folder, so that after a crash
 * the file holds either the old or the new number, never a torn one.
 *
 * @example
 * ```ts
 * writeLastSequence(sequenceFileOf(keyPath), sequence) // then sign and publish
 * ```
 */
export function writeLastSequence(path: string, sequence: bigint): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, `${sequence}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const dir = openSync(dirname(path), 'r')
  try {
    fsyncSync(dir)
  } catch {
    // Some file systems do not fsync folders; the rename is still atomic.
  } finally {
    closeSync(dir)
  }
}

/**
 * Takes the device's lock (`<key>.lock`, holding the pid), so that two publishers with one key do
 * not hand out the same numbers. A lock left by a process that is gone is taken over. Returns the
 * release function; throws `CONFIG` while another live process holds it.
 *
 * @example
 * ```ts
 * const release = lockDevice('thermometer.key')
 * try { await publishReadings() } finally { release() }
 * ```
 */
export function lockDevice(keyPath: string): () => void {
  const lock = `${keyPath}.lock`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return () => {
        try {
          unlinkSync(lock)
        } catch {
          // already gone
        }
      }
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new ChanvmError('CONFIG', `cannot create ${lock}`, { cause })
      const pid = Number(readFileSync(lock, 'utf8').trim())
      if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid))
        throw new ChanvmError(
          'CONFIG',
          `another publisher${Number.isInteger(pid) && pid > 0 ? ` (pid ${pid})` : ''} is using this device key (${lock}; remove it if no publisher runs)`,
        )
      unlinkSync(lock)
    }
  }
  throw new ChanvmError('CONFIG', `cannot take ${lock}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
