import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'

/** One accepted message as the replay memory keys it: `stream` is `{signer}/{stream of the input}`. */
export type ReplayEntry = { stream: string; sequence: bigint; digest: Hex }

/** What a {@link ReplayStore} gives back at start-up to seed the replay memory. */
export type ReplaySnapshot = {
  /**
   * Every stream's anti-replay window: its mark (the highest sequence recorded) and `seen`, bit `i`
   * set when `mark - i` was recorded, over `MAX_REPLAY_WINDOW` (1,024) bits. Without `seen` (a store
   * written before windows) every sequence at or below the mark counts as recorded.
   */
  marks: { stream: string; mark: bigint; seen?: bigint }[]
  /** The most recently recorded messages, oldest first (to tell a `duplicate` from an `equivocation`). */
  recent: ReplayEntry[]
}

/**
 * Durable replay marks: the port through which the input validator's replay memory survives a
 * restart of its process. Synchronous, like the validator's checks. `record` returns once the
 * entry is on disk.
 */
export type ReplayStore = {
  /** The marks and at most `maxRecent` of the latest recorded messages. */
  load(maxRecent: number): ReplaySnapshot
  /**
   * Records an accepted message durably: `sequence` is set in its stream's window (the mark rises
   * to it when above, never falls; see `slideReplayWindow` with `MAX_REPLAY_WINDOW` (1,024)) and its
   * digest is kept. Idempotent: recording an entry again changes nothing.
   */
  record(entry: ReplayEntry): void
  /**
   * Records several entries as `record` does, all in one durable transaction (group commit): on
   * disk together when it returns, or none of them when it throws. Optional: without it they are
   * recorded one by one.
   */
  recordAll?(entries: readonly ReplayEntry[]): void
  /** Whether exactly this message (same stream, sequence and digest) is recorded. */
  holds(entry: ReplayEntry): boolean
  /** Releases what the store opened itself (not a database it was given). Idempotent. */
  close(): void
}

/**
 * The replay entry of a verified input, as the validator keys it.
 *
 * @example
 * ```ts
 * source.onInput((input) => db.transaction(() => { insert(input); replay.record(replayEntryOf(input)) })())
 * ```
 */
export function replayEntryOf(
  input: Pick<VerifiedInput, 'signer' | 'stream' | 'sequence' | 'digest'>,
): ReplayEntry {
  return { stream: `${input.signer}/${input.stream}`, sequence: input.sequence, digest: input.digest }
}
