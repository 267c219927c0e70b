import type { Hex } from 'viem'
import type { CryptoPool } from './createCryptoPool.ts'
import type { SignatureVerdict } from './recoverDigestSigner.ts'

/**
 * Verdicts of recoveries started ahead of their use ({@link prefetchRecoveries}), by digest and
 * signature exactly as given (a recovery is a function of the two strings alone; another spelling
 * of the same bytes, `0X…` or upper-case hex, finds nothing and is recovered by whoever needs it,
 * so a verdict never answers for a string the recovery would judge differently), each taken once
 * ({@link takeRecovered}); the oldest go first when full.
 */
const recovered = new Map<string, SignatureVerdict>()
const RECOVERED = 4096

const keyOf = (digest: unknown, sig: unknown): string | undefined =>
  typeof digest === 'string' && typeof sig === 'string' ? `${digest}|${sig}` : undefined

/**
 * The verdict a prefetch left for `sig` over `digest`, taken (a second call finds nothing), or
 * `undefined`: the caller recovers.
 *
 * @example
 * ```ts
 * const v = takeRecovered(digest, sig) ?? recoverDigestSigner(digest, sig)
 * ```
 */
export function takeRecovered(digest: unknown, sig: unknown): SignatureVerdict | undefined {
  if (recovered.size === 0) return undefined
  const key = keyOf(digest, sig)
  if (key === undefined) return undefined
  const v = recovered.get(key)
  if (v !== undefined) recovered.delete(key)
  return v
}

/**
 * Starts on `pool` the recovery of each (digest, signature) pair that is a pair of strings and
 * keeps the verdicts for {@link takeRecovered}. Resolves once they are in (never rejects: a
 * recovery that failed is made by whoever needs it); `undefined` when nothing was started.
 *
 * @example
 * ```ts
 * await prefetchRecoveries(pool, [[m.digest, m.sig]])
 * ```
 */
export function prefetchRecoveries(
  pool: CryptoPool,
  pairs: readonly (readonly [unknown, unknown])[],
): Promise<void> | undefined {
  const started: Promise<void>[] = []
  for (const [digest, sig] of pairs) {
    const key = keyOf(digest, sig)
    if (key === undefined || recovered.has(key)) continue
    started.push(
      pool.recover(digest as Hex, sig as Hex).then(
        (v) => {
          if (recovered.size >= RECOVERED) {
            const oldest = recovered.keys().next()
            if (oldest.done !== true) recovered.delete(oldest.value)
          }
          recovered.set(key, v)
        },
        () => undefined,
      ),
    )
  }
  return started.length === 0 ? undefined : Promise.all(started).then(() => undefined)
}
