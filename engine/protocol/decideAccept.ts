import type { Hex } from 'viem'

/** What a mover knows when a peer's `accept` arrives. */
export type AcceptFacts = {
  version: bigint
  digest: Hex
  /** The mover's proposal in flight, if any. */
  pending: { version: bigint; digest: Hex } | undefined
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

/**
 * The rule for an accept: it counts only for the proposal in flight (same version and digest), from
 * another participant, with its state signature.
 *
 * @example
 * ```ts
 * decideAccept({ version: 1n, digest, pending: undefined, fromIndex: 1, myIndex: 0 }) // { type: 'ignore' }
 * ```
 */
export function decideAccept(f: AcceptFacts): AcceptDecision {
  if (
    f.pending === undefined ||
    f.pending.version !== f.version ||
    f.pending.digest.toLowerCase() !== f.digest.toLowerCase()
  ) {
    return { type: 'ignore' }
  }
  if (f.signatureValid === undefined) return { type: 'need', fact: 'signature' }
  if (f.fromIndex < 0 || f.fromIndex === f.myIndex || !f.signatureValid) {
    return {
      type: 'drop',
      reason: 'bad-signature',
      message: `accept for version ${f.version} is not signed by its sender`,
    }
  }
  return { type: 'take' }
}
