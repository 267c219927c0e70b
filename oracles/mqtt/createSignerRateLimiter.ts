import { ChanvmError } from '../../engine/errors.ts'

/** Options of {@link createSignerRateLimiter}. Rates are messages per second, bursts messages. */
export type RateLimitOptions = {
  /** Sustained messages per second one signer may have checked. Default 100. */
  perSignerPerSec?: number
  /** Messages one signer may have checked at once after a quiet spell. Default 1,000. */
  perSignerBurst?: number
  /** Sustained messages per second checked over all signers. Default 10,000. */
  totalPerSec?: number
  /** Messages checked at once over all signers. Default 20,000. */
  totalBurst?: number
  /** Most signers with a bucket; the least recently seen is forgotten beyond. Default 100,000. */
  maxSigners?: number
}

/** Per-signer and total token buckets, consulted before a message's signature is checked. */
export type SignerRateLimiter = {
  /**
   * Whether a message of `signer` may go on to verification now; spends a token of the signer's
   * bucket and of the total one when it may. `nowMs` is a monotonic clock in milliseconds.
   */
  take(signer: string, nowMs: number): boolean
  /** The number of signers holding a bucket. */
  size(): number
}

type Bucket = { tokens: number; at: number }

/**
 * Token buckets that bound the verification work per signer and in total, so that one noisy
 * publisher, or a flood claiming many signers, cannot starve the others:
 *
 * - a signer's bucket holds up to `perSignerBurst` tokens and refills at `perSignerPerSec`; a
 *   message of a signer with an empty bucket is refused;
 * - the total bucket holds up to `totalBurst` and refills at `totalPerSec`; when it is empty every
 *   message is refused;
 * - the noisiest signers go first: as the total bucket empties, a message is refused unless its
 *   signer's bucket is at least as full as the total one is empty (with the total bucket 70 %
 *   full, a signer needs 30 % of its bucket; at 10 %, 90 %), so quiet signers, whose buckets are
 *   full, keep getting through while the noisy ones, which emptied theirs, are refused. A signer
 *   seen for the first time starts with half a bucket, so a flood of new signer ids counts as
 *   noisy as soon as the total bucket is half empty.
 *
 * @example
 * ```ts
 * const limiter = createSignerRateLimiter({ perSignerPerSec: 100 })
 * if (!limiter.take(deviceId, performance.now())) dropAsRateLimited()
 * ```
 */
export function createSignerRateLimiter(options: RateLimitOptions = {}): SignerRateLimiter {
  const perRate = options.perSignerPerSec ?? 100
  const perBurst = options.perSignerBurst ?? 1_000
  const totalRate = options.totalPerSec ?? 10_000
  const totalBurst = options.totalBurst ?? 20_000
  const maxSigners = options.maxSigners ?? 100_000
  for (const [name, v] of Object.entries({ perRate, perBurst, totalRate, totalBurst, maxSigners })) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new ChanvmError('INVALID_ARGUMENT', `rate limit ${name} must be a positive number, got ${v}`)
  }
  const buckets = new Map<string, Bucket>()
  const total: Bucket = { tokens: totalBurst, at: -Infinity }
  const refill = (b: Bucket, now: number, rate: number, burst: number) => {
    if (now > b.at) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate)
      b.at = now
    }
  }
  return {
    take(signer, now) {
      let b = buckets.get(signer)
      if (b === undefined) {
        if (buckets.size >= maxSigners) {
          const oldest = buckets.keys().next()
          if (oldest.done !== true) buckets.delete(oldest.value)
        }
        b = { tokens: perBurst / 2, at: now }
      } else {
        buckets.delete(signer)
        refill(b, now, perRate, perBurst)
      }
      // Least recently seen first in iteration order.
      buckets.set(signer, b)
      refill(total, now, totalRate, totalBurst)
      if (b.tokens < 1 || total.tokens < 1) return false
      if (b.tokens / perBurst < 1 - total.tokens / totalBurst) return false
      b.tokens -= 1
      total.tokens -= 1
      return true
    },
    size: () => buckets.size,
  }
}
