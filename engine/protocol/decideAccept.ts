import type { Hex } from 'viem'

/** What a mover knows when a peer's `accept` arrives. */
export type AcceptFacts = {
  version: bigint
  digest: Hex
  /** The mover's proposal in flight, if any. */
  pending: { version: bigint; digest: Hex } | undefined
  /**
   * The accept is for one of this party's own unsettled proposals (sent, its update ended
   * without a verdict), not the one in flight.
   */
  unsettled?: boolean
  /** The sender's participant index (-1 when it is none) and this party's. */
  fromIndex: number
  myIndex: number
  /** The state signature recovers to the sender. */
  signatureValid?: boolean
}

export type AcceptDecision =
  | { type: 'ignore' }
  | { type: 'need'; fact: 'signature' }
  | { type: 'drop'; reason: 'bad-signature'; message: string }
  | { type: 'take' }
  /** Count the signature toward finishing this party's unsettled proposal (sign last, commit). */
  | { type: 'offer' }

/**
 * The rule for an accept: it counts for the proposal in flight (same version and digest), or toward
 * finishing one of this party's unsettled proposals, from another participant, with its state
 * signature.
 *
 * @example
 * ```ts
 * decideAccept({ version: 1n, digest, pending: undefined, fromIndex: 1, myIndex: 0 }) // { type: 'ignore' }
 * ```
 */
export function decideAccept(f: AcceptFacts): AcceptDecision {
  const inFlight =
    f.pending !== undefined &&
    f.pending.version === f.version &&
    f.pending.digest.toLowerCase() === f.digest.toLowerCase()
  if (!inFlight && f.unsettled !== true) return { type: 'ignore' }
  if (f.signatureValid === undefined) return { type: 'need', fact: 'signature' }
  if (f.fromIndex < 0 || f.fromIndex === f.myIndex || !f.signatureValid) {
    return {
      type: 'drop',
      reason: 'bad-signature',
      message: `accept for version ${f.version} is not signed by its sender`,
    }
  }
  return inFlight ? { type: 'take' } : { type: 'offer' }
}
