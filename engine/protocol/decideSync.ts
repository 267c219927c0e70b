/** What a party knows when a peer asks for a co-signed state (`sync`). */
export type SyncFacts = {
  version: bigint
  /** The sender is a participant other than this party. */
  fromIsPeer: boolean
  latestVersion: bigint | undefined
}

export type SyncDecision = { type: 'ignore' } | { type: 'answer' }

/**
 * The rule for a sync request: a participant that asks for version v gets this party's latest
 * co-signed state as a commit when that is v or newer.
 *
 * @example
 * ```ts
 * decideSync({ version: 4n, fromIsPeer: true, latestVersion: 4n }) // { type: 'answer' }
 * ```
 */
export function decideSync(f: SyncFacts): SyncDecision {
  if (!f.fromIsPeer || f.latestVersion === undefined || f.latestVersion < f.version) return { type: 'ignore' }
  return { type: 'answer' }
}
