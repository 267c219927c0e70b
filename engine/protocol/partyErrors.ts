import type { Hex } from 'viem'
import { ChanvmError } from '../errors.ts'

// The party's typed errors and the store's error words.

export const isStoreError = (e: unknown): e is ChanvmError =>
  e instanceof ChanvmError && e.code === 'STORE_ERROR'

/** The store error's own words: its code (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY) and message. */
export function describe(e: unknown): string {
  const root = e instanceof ChanvmError && e.cause !== undefined ? e.cause : e
  const code = (root as { code?: unknown } | undefined)?.code
  const message = root instanceof Error ? root.message : String(root)
  return typeof code === 'string' && code !== 'STORE_ERROR' ? `${code}: ${message}` : message
}

/** The error of a step asked for on a channel in dispute. */
export function disputedError(ch: { id: Hex }): ChanvmError {
  return new ChanvmError(
    'DISPUTED',
    'a dispute is registered on chain for this channel: no new off-chain step is proposed or signed',
    { channelId: ch.id },
  )
}

/** `p`, or `err()` once `ms` have passed. */
export function withTimeout<T>(p: Promise<T>, ms: number, err: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(err()), ms))),
  ]).finally(() => clearTimeout(timer))
}
