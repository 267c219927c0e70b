/** What a party knows when a peer asks for a co-signed state (`sync`). */
export type SyncFacts = {
  version: bigint
  /** The sender is a participant other than this party. */
  fromIsPeer: boolean
  latestVersion: bigint | undefined
  /** A dispute is registered on chain for the channel: nothing new is signed (answers still go out). */
  disputed?: boolean
  /**
   * What the sender shows it signed at that version, if anything: the state's version, whether its
   * state signature recovers to the sender, and whether the state is this party's own proposal
   * (its `Proposal` signature recovers to this party) not withdrawn after a peer refused it.
   */
  shown?: { version: bigint; senderSigned: boolean; ownProposal: boolean }
}

export type SyncDecision =
  | { type: 'ignore' }
  /** Send the sender the latest co-signed state as a commit. */
  | { type: 'answer' }
  /** The sender signed this party's own proposal at that version: count its signature toward finishing that state. */
  | { type: 'finish' }

/**
 * The rule for a sync request: a participant that asks for version v gets this party's latest
 * co-signed state as a commit when that is v or newer. When this party holds nothing at v and the
 * sender shows its signature on this party's own proposal at v, the mover finishes that state (it
 * signs last and commits), so a mover that lost its accepts never leaves the others stuck; not
 * once a dispute is registered (that would be a new signature).
 *
 * @example
 * ```ts
 * decideSync({ version: 4n, fromIsPeer: true, latestVersion: 4n }) // { type: 'answer' }
 * ```
 */
export function decideSync(f: SyncFacts): SyncDecision {
  if (!f.fromIsPeer) return { type: 'ignore' }
  if (f.latestVersion !== undefined && f.latestVersion >= f.version) return { type: 'answer' }
  const s = f.shown
  if (f.disputed === true) return { type: 'ignore' }
  if (s !== undefined && s.version === f.version && s.senderSigned && s.ownProposal) return { type: 'finish' }
  return { type: 'ignore' }
}
