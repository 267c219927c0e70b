import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'

/** One accepted message as the replay memory keys it: `stream` is `{signer}/{stream of the input}`. */
export type ReplayEntry = { stream: string; sequence: bigint; digest: Hex }

/** What a {@link ReplayStore} gives back at start-up to seed the replay memory. */
export type ReplaySnapshot = {
  /** Every stream's high-water mark. */
  marks: { stream: string; mark: bigint }[]
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
   * Records an accepted message durably: its stream's mark rises to `sequence` (never falls) and
   * its digest is kept. Idempotent: recording an entry again changes nothing.
   */
  record(entry: ReplayEntry): void
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
