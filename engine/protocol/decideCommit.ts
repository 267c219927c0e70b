/** What a party knows when a `commit` (a co-signed state) arrives. */
export type CommitFacts = {
  version: bigint
  /** The version of the latest co-signed state this party holds, if any. */
  latestVersion: bigint | undefined
  /** The commit carries the state, or this party holds a signature record with the commit's digest. */
  stateKnown: boolean
  /** The state hashes to the commit's digest and every participant's signature recovers to it. */
  signaturesValid?: boolean
}

export type CommitDecision =
  /** Nothing to do: this party holds that version or a newer one, or cannot tell which state it is. */
  | { type: 'ignore'; why: 'held' | 'unknown-state' }
  | { type: 'need'; fact: 'signatures' }
  | { type: 'drop'; reason: 'bad-signature'; message: string }
  /** Store it as the latest co-signed state (it may skip versions: a co-signed state stands alone). */
  | { type: 'store' }

/**
 * The rule for a commit: a co-signed state newer than the latest one held is stored once every
 * signature checks out, whoever sent it (a commit is self-authenticating); anything else changes nothing.
 *
 * @example
 * ```ts
 * decideCommit({ version: 3n, latestVersion: 3n, stateKnown: true }) // { type: 'ignore', why: 'held' }
 * ```
 */
export function decideCommit(f: CommitFacts): CommitDecision {
  if (f.latestVersion !== undefined && f.version <= f.latestVersion) return { type: 'ignore', why: 'held' }
  if (!f.stateKnown) return { type: 'ignore', why: 'unknown-state' }
  if (f.signaturesValid === undefined) return { type: 'need', fact: 'signatures' }
  if (!f.signaturesValid)
    return {
      type: 'drop',
      reason: 'bad-signature',
      message: `commit for version ${f.version} carries invalid signatures`,
    }
  return { type: 'store' }
}
