import type { Hex } from 'viem'

/** What a mover knows when a peer's signed `reject` arrives. */
export type RejectFacts = {
  version: bigint
  digest: Hex
  reason: string
  pending: { version: bigint; digest: Hex } | undefined
  /** The sender is a participant other than this party. */
  fromIsPeer: boolean
  /** The `Reject` signature recovers to the sender. */
  signatureValid?: boolean
  /**
   * With `conflicting-signature`, what the refuser says it signed instead: the state's version and
   * digest, whether the refuser's state signature on it recovers to the refuser, and whether it
   * comes with this party's own `Proposal` signature for that state (it proposed it earlier) and
   * this party has not withdrawn that proposal after a peer refused it.
   */
  signed?: { version: bigint; digest: Hex; refuserSigned: boolean; ownProposal: boolean }
}

export type RejectDecision =
  | { type: 'ignore' }
  | { type: 'need'; fact: 'signature' }
  | { type: 'drop'; reason: 'bad-signature'; message: string }
  /**
   * Lost a simultaneous proposal, the peer signed another mover's state, or this party is behind
   * (`stale`: the refuser sends the newer state): wait for that state, retry on top.
   */
  | { type: 'lost' }
  /** The refuser is behind (`version-gap`): send it the latest co-signed state, then propose again at once. */
  | { type: 'resend' }
  /** The refuser signed this party's own earlier proposal at this version: finish that state (sign last, commit). */
  | { type: 'finish' }
  /** The update fails with the peer's reason. */
  | { type: 'fail' }
  /**
   * The refuser could not write its store (`store-error`): it recorded nothing, leaves the proposal
   * unacknowledged and handles it again when its transport redelivers it, and may sign it then.
   * Not a verdict on the step: keep waiting for the accept (the update ends in `peer-timeout` at
   * the latest, "not co-signed yet").
   */
  | { type: 'wait' }

/**
 * The rule for a refusal of this party's proposal in flight. A `conflicting-signature` refusal that
 * shows this party's own earlier proposal, signed by the refuser, lets the mover finish that state
 * instead of being stuck at the version.
 *
 * @example
 * ```ts
 * decideReject({ version: 2n, digest, reason: 'conflict', pending: { version: 2n, digest }, fromIsPeer: true, signatureValid: true })
 * // { type: 'lost' }
 * ```
 */
export function decideReject(f: RejectFacts): RejectDecision {
  if (
    f.pending === undefined ||
    f.pending.version !== f.version ||
    f.pending.digest.toLowerCase() !== f.digest.toLowerCase()
  ) {
    return { type: 'ignore' }
  }
  if (f.signatureValid === undefined) return { type: 'need', fact: 'signature' }
  if (!f.fromIsPeer || !f.signatureValid) {
    return {
      type: 'drop',
      reason: 'bad-signature',
      message: `reject for version ${f.version} is not signed by its sender`,
    }
  }
  if (f.reason === 'conflict' || f.reason === 'stale') return { type: 'lost' }
  if (f.reason === 'version-gap') return { type: 'resend' }
  if (f.reason === 'store-error') return { type: 'wait' }
  if (
    f.reason === 'conflicting-signature' &&
    f.signed !== undefined &&
    f.signed.version === f.version &&
    f.signed.refuserSigned
  ) {
    return f.signed.ownProposal ? { type: 'finish' } : { type: 'lost' }
  }
  return { type: 'fail' }
}
