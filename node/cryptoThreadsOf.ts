import { ChanvmError } from '../engine/errors.ts'

/**
 * Crypto threads of a node unless `CHANVM_CRYPTO_THREADS` says otherwise: none. On 2 cores shared by
 * two nodes, a broker and a client, one thread per node made steps dearer (the hops) and fewer.
 */
export const DEFAULT_CRYPTO_THREADS = 0

/**
 * The crypto threads `CHANVM_CRYPTO_THREADS` asks for (a whole number, 0 to 64), else
 * {@link DEFAULT_CRYPTO_THREADS}; anything else is `CONFIG`.
 *
 * @example
 * ```ts
 * const threads = cryptoThreadsOf(process.env)
 * ```
 */
export function cryptoThreadsOf(env: NodeJS.ProcessEnv): number {
  const raw = env.CHANVM_CRYPTO_THREADS
  if (raw === undefined || raw.trim() === '') return DEFAULT_CRYPTO_THREADS
  const n = Number(raw)
  if (!/^\s*\d+\s*$/.test(raw) || n > 64)
    throw new ChanvmError(
      'CONFIG',
      `CHANVM_CRYPTO_THREADS is ${JSON.stringify(raw)}: it takes a whole number from 0 to 64`,
    )
  return n
}
