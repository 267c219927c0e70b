import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { createOldestEvictor } from '../message/createOldestEvictor.ts'
import { MAX_REPLAY_WINDOW, slideReplayWindow, type ReplayWindow } from './slideReplayWindow.ts'

/** Options of {@link createReplayMemory}. */
export type ReplayMemoryOptions = {
  /**
   * Most accepted messages remembered with their digest, to tell an exact copy (`duplicate`) from
   * another message at the same sequence (`equivocation`). The least recently used is forgotten
   * beyond; its stream's window still refuses it. Default 100,000.
   */
  maxRemembered?: number
  /**
   * Most streams with a window. A window is never forgotten: beyond the bound a new stream is
   * refused (`too-many-signers`). Default 100,000.
   */
  maxStreams?: number
  /**
   * The anti-replay window, in sequences: a sequence not accepted yet is accepted while it is above
   * `mark - window` (the mark being the stream's highest accepted sequence), so messages that arrive
   * out of order by fewer than `window` sequences are all taken. 1 is a strictly increasing
   * sequence. From 1 to {@link MAX_REPLAY_WINDOW}; default 1,024.
   */
  window?: number
}

/** What {@link ReplayMemory.take} decided about one verified message. */
export type ReplayVerdict =
  | { verdict: 'accepted' }
  /** The same message (same digest) was accepted before and is still remembered. */
  | { verdict: 'duplicate' }
  /** Another message (digest `accepted`) was accepted at the same sequence of the same stream. */
  | { verdict: 'equivocation'; accepted: Hex }
  /**
   * The sequence was accepted before (inside the window, its message no longer remembered:
   * `taken`), or is at or below `mark - window` (`taken` false): too old to tell.
   */
  | { verdict: 'stale-sequence'; mark: bigint; taken: boolean }
  /** The stream is new and `maxStreams` streams hold a window already. */
  | { verdict: 'too-many-signers'; limit: number }

/** The replay memory of the input validator. */
export type ReplayMemory = {
  /**
   * Decides on a message whose signature verified, and records it when it is `accepted`: a
   * sequence not accepted before, above `mark - window` (or the first of a stream there is room
   * for). A remembered message it matches becomes the most recently used.
   */
  take(stream: string, sequence: bigint, digest: Hex): ReplayVerdict
  /**
   * Undoes the acceptance of (stream, sequence, digest) when it is the latest acceptance of its
   * stream and the window before it is known: the window goes back and the message is no longer
   * remembered. Returns whether it did.
   */
  forget(stream: string, sequence: bigint, digest: Hex): boolean
  /**
   * Restores a stream's window as a durable store recorded it before a restart: the sequences it
   * holds are taken, besides those taken already (restored windows are not bounded by
   * `maxStreams`). A restored acceptance cannot be undone by `forget`.
   */
  restore(stream: string, window: ReplayWindow): void
  /**
   * Restores one message a durable store recorded: its sequence is taken (the mark rises to it if
   * below) and its digest remembered as the most recently used.
   */
  restoreMessage(stream: string, sequence: bigint, digest: Hex): void
  /** The highest sequence accepted on `stream`, if any. */
  mark(stream: string): bigint | undefined
  /** The stream's window, if any (a copy). */
  window(stream: string): ReplayWindow | undefined
  /** How many messages are remembered and how many streams hold a window. */
  size(): { remembered: number; streams: number }
}

/** A stream's window and, for `forget`, its latest acceptance and the window before it (`null`: none). */
type Stream = { window: ReplayWindow; undo: { sequence: bigint; before: ReplayWindow | null } | undefined }

/** The union of two windows' sequences, within `size` below the higher mark. */
function unite(a: ReplayWindow, b: ReplayWindow, size: number): ReplayWindow {
  const [high, low] = a.mark >= b.mark ? [a, b] : [b, a]
  const width = BigInt(size)
  const shift = high.mark - low.mark
  const mask = (1n << width) - 1n
  const seen = shift >= width ? high.seen : (high.seen | (low.seen << shift)) & mask
  return { mark: high.mark, seen: seen & mask }
}

/**
 * Creates the replay memory: a bounded least-recently-used map of (stream, sequence) to the digest
 * accepted there, plus a bounded map of stream to its anti-replay window (the highest sequence
 * accepted and which of the `window` sequences below it were), which is never evicted. Together
 * they never accept a (stream, sequence) twice: a sequence inside the window is accepted once, one
 * below it is refused whether or not its message is still remembered, and a new stream is refused
 * rather than a window forgotten. Pure memory, no I/O.
 *
 * @example
 * ```ts
 * const memory = createReplayMemory({ maxRemembered: 10_000 })
 * memory.take(`${device}/readings`, 7n, digest) // { verdict: 'accepted' }
 * memory.take(`${device}/readings`, 5n, other)  // { verdict: 'accepted' } (late, inside the window)
 * memory.take(`${device}/readings`, 7n, digest) // { verdict: 'duplicate' }
 * ```
 */
export function createReplayMemory(options: ReplayMemoryOptions = {}): ReplayMemory {
  const maxRemembered = options.maxRemembered ?? 100_000
  const maxStreams = options.maxStreams ?? 100_000
  const size = options.window ?? MAX_REPLAY_WINDOW
  if (
    !Number.isInteger(maxRemembered) ||
    maxRemembered < 1 ||
    !Number.isInteger(maxStreams) ||
    maxStreams < 1
  )
    throw new ChanvmError('INVALID_ARGUMENT', 'maxRemembered and maxStreams must be integers >= 1')
  if (!Number.isInteger(size) || size < 1 || size > MAX_REPLAY_WINDOW)
    throw new ChanvmError('INVALID_ARGUMENT', `window must be an integer from 1 to ${MAX_REPLAY_WINDOW}`)
  const mask = (1n << BigInt(size)) - 1n
  // Map iteration follows insertion order: re-inserting on use keeps the least recently used first.
  const remembered = new Map<string, Hex>()
  const streams = new Map<string, Stream>()
  const keyOf = (stream: string, sequence: bigint) => `${stream}#${sequence}`
  const evictOldest = createOldestEvictor(remembered)
  const remember = (key: string, digest: Hex) => {
    remembered.delete(key)
    remembered.set(key, digest)
    if (remembered.size > maxRemembered) evictOldest()
  }

  return {
    take(stream, sequence, digest) {
      const key = keyOf(stream, sequence)
      const seen = remembered.get(key)
      if (seen !== undefined) {
        remember(key, seen)
        return seen === digest ? { verdict: 'duplicate' } : { verdict: 'equivocation', accepted: seen }
      }
      const s = streams.get(stream)
      if (s === undefined && streams.size >= maxStreams)
        return { verdict: 'too-many-signers', limit: maxStreams }
      const slid = slideReplayWindow(s?.window, sequence, size)
      if (slid.verdict === 'seen')
        return { verdict: 'stale-sequence', mark: (s as Stream).window.mark, taken: true }
      if (slid.verdict === 'below') return { verdict: 'stale-sequence', mark: slid.mark, taken: false }
      if (s === undefined) streams.set(stream, { window: slid.window, undo: { sequence, before: null } })
      else {
        s.undo = { sequence, before: s.window }
        s.window = slid.window
      }
      remember(key, digest)
      return { verdict: 'accepted' }
    },
    forget(stream, sequence, digest) {
      const s = streams.get(stream)
      const key = keyOf(stream, sequence)
      if (s === undefined || s.undo === undefined || s.undo.sequence !== sequence) return false
      if (remembered.get(key) !== digest) return false
      remembered.delete(key)
      if (s.undo.before === null) streams.delete(stream)
      else {
        s.window = s.undo.before
        s.undo = undefined
      }
      return true
    },
    restore(stream, window) {
      const s = streams.get(stream)
      const w = { mark: window.mark, seen: (window.seen | 1n) & mask }
      if (s === undefined) streams.set(stream, { window: w, undo: undefined })
      else {
        s.window = unite(s.window, w, size)
        s.undo = undefined
      }
    },
    restoreMessage(stream, sequence, digest) {
      const s = streams.get(stream)
      const slid = slideReplayWindow(s?.window, sequence, size)
      if (slid.verdict === 'accepted') {
        if (s === undefined) streams.set(stream, { window: slid.window, undo: undefined })
        else {
          s.window = slid.window
          s.undo = undefined
        }
      }
      remember(keyOf(stream, sequence), digest)
    },
    mark(stream) {
      return streams.get(stream)?.window.mark
    },
    window(stream) {
      const w = streams.get(stream)?.window
      return w === undefined ? undefined : { ...w }
    },
    size() {
      return { remembered: remembered.size, streams: streams.size }
    },
  }
}
