import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'

/** Options of {@link createReplayMemory}. */
export type ReplayMemoryOptions = {
  /**
   * Most accepted messages remembered with their digest, to tell an exact copy (`duplicate`) from
   * another message at the same sequence (`equivocation`). The least recently used is forgotten
   * beyond; its stream's high-water mark still refuses it. Default 100,000.
   */
  maxRemembered?: number
  /**
   * Most streams with a high-water mark. A mark is never forgotten: beyond the bound a new stream
   * is refused (`too-many-signers`). Default 100,000.
   */
  maxStreams?: number
}

/** What {@link ReplayMemory.take} decided about one verified message. */
export type ReplayVerdict =
  | { verdict: 'accepted' }
  /** The same message (same digest) was accepted before and is still remembered. */
  | { verdict: 'duplicate' }
  /** Another message (digest `accepted`) was accepted at the same sequence of the same stream. */
  | { verdict: 'equivocation'; accepted: Hex }
  /** The sequence is at or below the stream's high-water mark and not remembered. */
  | { verdict: 'stale-sequence'; mark: bigint }
  /** The stream is new and `maxStreams` streams hold a mark already. */
  | { verdict: 'too-many-signers'; limit: number }

/** The replay memory of the input validator. */
export type ReplayMemory = {
  /**
   * Decides on a message whose signature verified, and records it when it is `accepted`: a
   * sequence above the stream's high-water mark (or the first of a stream there is room for).
   * A remembered message it matches becomes the most recently used.
   */
  take(stream: string, sequence: bigint, digest: Hex): ReplayVerdict
  /**
   * Undoes the acceptance of (stream, sequence, digest) when it is the latest of its stream and the
   * one before it is known: the mark goes back and the message is no longer remembered. Returns
   * whether it did.
   */
  forget(stream: string, sequence: bigint, digest: Hex): boolean
  /**
   * Restores what a durable store recorded before a restart: the stream's mark rises to `sequence`
   * (a mark is never lowered, and restored marks are not bounded by `maxStreams`) and, with a
   * digest, the message is remembered as the most recently used. A restored acceptance cannot be
   * undone by `forget`.
   */
  restore(stream: string, sequence: bigint, digest?: Hex): void
  /** The highest sequence accepted on `stream`, if any. */
  mark(stream: string): bigint | undefined
  /** How many messages are remembered and how many streams hold a mark. */
  size(): { remembered: number; streams: number }
}

/** A stream's high-water mark and, for `forget`, the mark before it (`null`: none; `undefined`: unknown). */
type Mark = { mark: bigint; before: bigint | null | undefined }

/**
 * Creates the replay memory: a bounded least-recently-used map of (stream, sequence) to the digest
 * accepted there, plus a bounded map of stream to its high-water mark (the highest sequence
 * accepted), which is never evicted. Together they never accept a (stream, sequence) twice: a
 * sequence at or below the mark is refused whether or not its message is still remembered, and a
 * new stream is refused rather than a mark forgotten. Pure memory, no I/O.
 *
 * @example
 * ```ts
 * const memory = createReplayMemory({ maxRemembered: 10_000 })
 * memory.take(`${device}/readings`, 7n, digest) // { verdict: 'accepted' }
 * memory.take(`${device}/readings`, 7n, digest) // { verdict: 'duplicate' }
 * ```
 */
export function createReplayMemory(options: ReplayMemoryOptions = {}): ReplayMemory {
  const maxRemembered = options.maxRemembered ?? 100_000
  const maxStreams = options.maxStreams ?? 100_000
  if (
    !Number.isInteger(maxRemembered) ||
    maxRemembered < 1 ||
    !Number.isInteger(maxStreams) ||
    maxStreams < 1
  )
    throw new ChanvmError('INVALID_ARGUMENT', 'maxRemembered and maxStreams must be integers >= 1')
  // Map iteration follows insertion order: re-inserting on use keeps the least recently used first.
  const remembered = new Map<string, Hex>()
  const marks = new Map<string, Mark>()
  const keyOf = (stream: string, sequence: bigint) => `${stream}#${sequence}`

  return {
    take(stream, sequence, digest) {
      const key = keyOf(stream, sequence)
      const seen = remembered.get(key)
      if (seen !== undefined) {
        remembered.delete(key)
        remembered.set(key, seen)
        return seen === digest ? { verdict: 'duplicate' } : { verdict: 'equivocation', accepted: seen }
      }
      const m = marks.get(stream)
      if (m !== undefined && sequence <= m.mark) return { verdict: 'stale-sequence', mark: m.mark }
      if (m === undefined && marks.size >= maxStreams)
        return { verdict: 'too-many-signers', limit: maxStreams }
      if (m === undefined) marks.set(stream, { mark: sequence, before: null })
      else {
        m.before = m.mark
        m.mark = sequence
      }
      remembered.set(key, digest)
      if (remembered.size > maxRemembered) {
        const oldest = remembered.keys().next()
        if (oldest.done !== true) remembered.delete(oldest.value)
      }
      return { verdict: 'accepted' }
    },
    forget(stream, sequence, digest) {
      const m = marks.get(stream)
      const key = keyOf(stream, sequence)
      if (m === undefined || m.mark !== sequence || m.before === undefined) return false
      if (remembered.get(key) !== digest) return false
      remembered.delete(key)
      if (m.before === null) marks.delete(stream)
      else {
        m.mark = m.before
        m.before = undefined
      }
      return true
    },
    restore(stream, sequence, digest) {
      const m = marks.get(stream)
      if (m === undefined) marks.set(stream, { mark: sequence, before: undefined })
      else if (sequence > m.mark) {
        m.mark = sequence
        m.before = undefined
      }
      if (digest === undefined) return
      const key = keyOf(stream, sequence)
      remembered.delete(key)
      remembered.set(key, digest)
      if (remembered.size > maxRemembered) {
        const oldest = remembered.keys().next()
        if (oldest.done !== true) remembered.delete(oldest.value)
      }
    },
    mark(stream) {
      return marks.get(stream)?.mark
    },
    size() {
      return { remembered: remembered.size, streams: marks.size }
    },
  }
}
