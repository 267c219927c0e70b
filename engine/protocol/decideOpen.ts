import type { Hex } from 'viem'

/** What a party knows when a peer's `open` (its signature on the initial state) arrives. */
export type OpenFacts = {
  /** This party's own open in progress: the initial state's digest. */
  opening: { digest: Hex } | undefined
  latestVersion: bigint | undefined
  /** The sender is a participant other than this party. */
  fromIsPeer: boolean
  /** The sender's signature recovers to it over this party's initial state. */
  signatureValid?: boolean
}

export type OpenDecision =
  /** This party has not opened the channel yet: keep the message until it does (or a time limit). */
  | { type: 'hold' }
  /** The channel is open here: send the sender the latest co-signed state as a commit. */
  | { type: 'answer-latest' }
  | { type: 'need'; fact: 'signature' }
  | { type: 'drop'; reason: 'bad-signature'; message: string }
  | { type: 'take' }

/**
 * The rule for a peer's open: collected while this party opens the channel, held until it does,
 * answered with the co-signed state once the channel is open (a peer that restarted mid-open).
 *
 * @example
 * ```ts
 * decideOpen({ opening: undefined, latestVersion: undefined, fromIsPeer: true }) // { type: 'hold' }
 * ```
 */
export function decideOpen(f: OpenFacts): OpenDecision {
  if (!f.fromIsPeer) return { type: 'drop', reason: 'bad-signature', message: 'open from a non-participant' }
  if (f.latestVersion !== undefined) return { type: 'answer-latest' }
  if (f.opening === undefined) return { type: 'hold' }
  if (f.signatureValid === undefined) return { type: 'need', fact: 'signature' }
  if (!f.signatureValid)
    return { type: 'drop', reason: 'bad-signature', message: "open does not sign this party's initial state" }
  return { type: 'take' }
}
