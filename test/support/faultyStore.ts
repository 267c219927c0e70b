import type { ChannelStore } from '../../engine/store/types.ts'
import { bindAll } from './crashingStore.ts'

/** An error as better-sqlite3 throws it (`SqliteError` with a `code`). */
export function sqliteError(code: 'SQLITE_FULL' | 'SQLITE_IOERR' | 'SQLITE_READONLY'): Error {
  const words = {
    SQLITE_FULL: 'database or disk is full',
    SQLITE_IOERR: 'disk I/O error',
    SQLITE_READONLY: 'attempt to write a readonly database',
  }
  return Object.assign(new Error(words[code]), { name: 'SqliteError', code })
}

/**
 * A ChannelStore whose writes fail with `error()` while `failing()` is true (a disk that fills up or
 * fails mid-run); reads keep working. For the store-error tests.
 *
 * @example
 * ```ts
 * let full = false
 * const store = faultyStore(createSqliteStore({ path }), { failing: () => full, error: () => sqliteError('SQLITE_FULL') })
 * ```
 */
export function faultyStore(
  inner: ChannelStore,
  opts: { failing: () => boolean; error: () => Error },
): ChannelStore {
  const writes = [
    'probeWrite',
    'putChannel',
    'recordSignature',
    'putSignedState',
    'writeSignedState',
    'recordSignatureAndState',
    'putForcedState',
    'putFunding',
    'putDisputed',
  ] as const
  const out = bindAll(inner) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
  for (const k of writes) {
    const f = out[k]!
    out[k] = async (...a: unknown[]) => {
      if (opts.failing()) throw opts.error()
      return f(...a)
    }
  }
  return out as unknown as ChannelStore
}
