/**
 * A stream's anti-replay window (RFC 4303 §3.4.3, RFC 9147 §4.5.1): the highest sequence accepted
 * (`mark`) and which of the `size` sequences ending at it were accepted (`seen`, bit `i` for
 * `mark - i`; bit 0, the mark itself, is always set).
 */
export type ReplayWindow = { mark: bigint; seen: bigint }

/** The largest window a stream may have, in sequences (the durable store keeps this many bits). */
export const MAX_REPLAY_WINDOW = 1024

/** What {@link slideReplayWindow} decided about one sequence. */
export type WindowVerdict =
  /** Not seen and inside the window (or above it): `window` is the stream's window with it. */
  | { verdict: 'accepted'; window: ReplayWindow }
  /** Inside the window and accepted before. */
  | { verdict: 'seen' }
  /** At or below `mark - size`: too old to tell, refused. */
  | { verdict: 'below'; mark: bigint }

/**
 * Decides on `sequence` against a stream's window of `size` sequences: a sequence above the mark
 * is accepted and slides the window up to it; one inside the window is accepted once (its bit is
 * set); one below the window is refused, as is one already seen. `window` undefined is a new
 * stream. Pure: the given window is never changed.
 *
 * @example
 * ```ts
 * let w = (slideReplayWindow(undefined, 10n, 64) as { window: ReplayWindow }).window
 * slideReplayWindow(w, 8n, 64)  // { verdict: 'accepted', window: { mark: 10n, seen: 0b101n } }
 * slideReplayWindow(w, 10n, 64) // { verdict: 'seen' }
 * ```
 */
export function slideReplayWindow(
  window: ReplayWindow | undefined,
  sequence: bigint,
  size: number,
): WindowVerdict {
  if (window === undefined) return { verdict: 'accepted', window: { mark: sequence, seen: 1n } }
  const width = BigInt(size)
  if (sequence > window.mark) {
    const shift = sequence - window.mark
    const seen = shift >= width ? 1n : ((window.seen << shift) | 1n) & ((1n << width) - 1n)
    return { verdict: 'accepted', window: { mark: sequence, seen } }
  }
  const back = window.mark - sequence
  if (back >= width) return { verdict: 'below', mark: window.mark }
  const bit = 1n << back
  if ((window.seen & bit) !== 0n) return { verdict: 'seen' }
  return { verdict: 'accepted', window: { mark: window.mark, seen: window.seen | bit } }
}
