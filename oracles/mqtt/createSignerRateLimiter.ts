import { ChanvmError } from '../../engine/errors.ts'
import { createOldestEvictor } from '../message/createOldestEvictor.ts'

/** Options of {@link createSignerRateLimiter}. Rates are messages per second, bursts messages. */
export type RateLimitOptions = {
  /** Sustained verified messages per second one signer may have accepted. Default 100. */
  perSignerPerSec?: number
  /** Verified messages one signer may have accepted at once after a quiet spell. Default 1,000. */
  perSignerBurst?: number
  /**
   * Sustained messages per second on one signer's topic that do not verify (forgeries, copies,
   * malformed payloads) before that topic loses its priority. Default 100.
   */
  perTopicUnverifiedPerSec?: number
  /** Unverified messages on one signer's topic at once before it loses its priority. Default 1,000. */
  perTopicUnverifiedBurst?: number
  /**
   * Messages on one signer's topic admitted and not yet judged (in flight on the verifier
   * threads) at once; beyond, a message on that topic is refused on arrival and charged to the
   * topic's unverified bucket. Default 100: half of the input source's default `maxInFlight`, and
   * the in-flight window of the site's Mosquitto settings.
   */
  perTopicInFlight?: number
  /** Sustained messages per second checked over all signers. Default 10,000. */
  totalPerSec?: number
  /** Messages checked at once over all signers. Default 20,000. */
  totalBurst?: number
  /** Most signers with buckets; the least recently seen is forgotten beyond. Default 100,000. */
  maxSigners?: number
}

/**
 * Token buckets consulted before a message's signature is checked ({@link SignerRateLimiter.admit})
 * and charged once its verdict is known ({@link SignerRateLimiter.settle}).
 */
export type SignerRateLimiter = {
  /**
   * Whether a message on `signer`'s topic may go on to verification now; spends a token of the
   * total bucket when it may. Refused when `perTopicInFlight` messages of the topic already wait
   * for their verdict (that refusal is charged to the topic's unverified bucket). `nowMs` is a
   * monotonic clock in milliseconds.
   */
  admit(signer: string, nowMs: number): boolean
  /**
   * Charges an admitted message once judged: to the signer's own bucket when it verified and was
   * accepted, to the signer's topic's unverified bucket otherwise. A forgery never costs the
   * signer it claims to be.
   */
  settle(signer: string, verified: boolean, nowMs: number): void
  /** Ends the wait of an admitted message that will not be judged (its check failed), charging nothing. */
  release(signer: string): void
  /** The number of signers holding buckets. */
  size(): number
}

type Bucket = { tokens: number; at: number }
/**
 * A signer's buckets; `proven` once a message of it verified; `waiting`: messages admitted and not
 * yet settled (checked on other threads meanwhile), counted against the topic's unverified bucket
 * only, never the signer's own, until its verdict says which one it costs, and at most
 * `perTopicInFlight`.
 */
type Signer = { own: Bucket; unverified: Bucket; proven: boolean; waiting: number }

/**
 * The head start of a signer that has proven itself (a message of it verified) over its topic's
 * unverified budget: a proven device whose topic is flooded with forgeries is still checked while
 * the total bucket is at least half full.
 */
const PROVEN_HEAD_START = 0.5

/**
 * Token buckets that bound the verification work, so that neither a noisy device, nor a flood of
 * forgeries claiming a device, nor a flood claiming many signers can starve the others or silence
 * the device it claims to be:
 *
 * - each signer has its **own** bucket, `perSignerBurst` tokens refilled at `perSignerPerSec`,
 *   charged only for a message that verified and was accepted: a message of a signer whose own
 *   bucket is empty is refused (the device itself sends faster than its rate);
 * - each signer's topic has an **unverified** bucket, `perTopicUnverifiedBurst` refilled at
 *   `perTopicUnverifiedPerSec`, charged for every other message on it (a forgery, a copy, a
 *   malformed payload): a flood of forgeries spends it, never the signer's own bucket;
 * - a message admitted and not yet settled (checked on verifier threads meanwhile) counts against
 *   its topic's unverified bucket until settled, never against the signer's own bucket; at most
 *   `perTopicInFlight` of a topic wait at once, and a message beyond is refused on arrival and
 *   charged to the topic (so a device may have up to that many more accepted than its own bucket
 *   held, while they were in flight);
 * - the **total** bucket, `totalBurst` refilled at `totalPerSec`, pays for every check: when it
 *   is empty every message is refused;
 * - the noisiest go first: as the total bucket empties, a message is refused unless its signer's
 *   own bucket is at least as full as the total one is empty (with the total 70 % full, a signer
 *   needs 30 % of its bucket) and its topic's unverified bucket is too, with a head start of a
 *   half for a signer that has proven itself (a message of it verified): the topic of a known
 *   device flooded with forgeries is checked while the total bucket is at least half full. A
 *   signer seen for the first time starts with half its buckets and no proof, so a flood of new
 *   signer ids counts as noisy once the total bucket is half empty. Quiet devices keep getting
 *   through until the total bucket is empty; a device impersonated below the total rate loses
 *   nothing.
 *
 * @example
 * ```ts
 * const limiter = createSignerRateLimiter({ perSignerPerSec: 100 })
 * if (!limiter.admit(deviceId, performance.now())) dropAsRateLimited()
 * else limiter.settle(deviceId, verify(message).ok, performance.now())
 * ```
 */
export function createSignerRateLimiter(options: RateLimitOptions = {}): SignerRateLimiter {
  const perRate = options.perSignerPerSec ?? 100
  const perBurst = options.perSignerBurst ?? 1_000
  const topicRate = options.perTopicUnverifiedPerSec ?? 100
  const topicBurst = options.perTopicUnverifiedBurst ?? 1_000
  const topicInFlight = options.perTopicInFlight ?? 100
  const totalRate = options.totalPerSec ?? 10_000
  const totalBurst = options.totalBurst ?? 20_000
  const maxSigners = options.maxSigners ?? 100_000
  for (const [name, v] of Object.entries({
    perRate,
    perBurst,
    topicRate,
    topicBurst,
    topicInFlight,
    totalRate,
    totalBurst,
    maxSigners,
  })) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new ChanvmError('INVALID_ARGUMENT', `rate limit ${name} must be a positive number, got ${v}`)
  }
  const signers = new Map<string, Signer>()
  const evictOldest = createOldestEvictor(signers)
  const total: Bucket = { tokens: totalBurst, at: -Infinity }
  const refill = (b: Bucket, now: number, rate: number, burst: number) => {
    if (now > b.at) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate)
      b.at = now
    }
  }
  const signerOf = (signer: string, now: number): Signer => {
    let s = signers.get(signer)
    if (s === undefined) {
      if (signers.size >= maxSigners) evictOldest()
      s = {
        own: { tokens: perBurst / 2, at: now },
        unverified: { tokens: topicBurst / 2, at: now },
        proven: false,
        waiting: 0,
      }
    } else {
      signers.delete(signer)
      refill(s.own, now, perRate, perBurst)
      refill(s.unverified, now, topicRate, topicBurst)
    }
    // Least recently seen first in iteration order.
    signers.set(signer, s)
    return s
  }
  return {
    admit(signer, now) {
      const s = signerOf(signer, now)
      refill(total, now, totalRate, totalBurst)
      // A topic with as many messages waiting for their verdict as it may have is refused at once,
      // at the topic's cost: a flood of forgeries claiming a signer cannot fill the connection.
      if (s.waiting >= topicInFlight) {
        s.unverified.tokens = Math.max(0, s.unverified.tokens - 1)
        return false
      }
      // A message still waiting for its verdict is counted against its topic, not its signer: a
      // forgery in flight never lowers what the signer's own bucket admits.
      const own = s.own.tokens
      const unverified = s.unverified.tokens - s.waiting
      if (own < 1 || total.tokens < 1) return false
      const need = 1 - total.tokens / totalBurst
      // A proven signer keeps its head start on both buckets: a quiet device (its own bucket at
      // least half full) gets through until the total bucket is empty.
      const headStart = s.proven ? PROVEN_HEAD_START : 0
      if (own / perBurst + headStart < need) return false
      if (unverified / topicBurst + headStart < need) return false
      total.tokens -= 1
      s.waiting++
      return true
    },
    settle(signer, verified, now) {
      const s = signerOf(signer, now)
      s.waiting = Math.max(0, s.waiting - 1)
      const b = verified ? s.own : s.unverified
      b.tokens = Math.max(0, b.tokens - 1)
      if (verified) s.proven = true
    },
    release(signer) {
      const s = signers.get(signer)
      if (s !== undefined) s.waiting = Math.max(0, s.waiting - 1)
    },
    size: () => signers.size,
  }
}
