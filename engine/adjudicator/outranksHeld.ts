/** What the outranking rule needs of a channel's on-chain record. */
export type HeldRecord = {
  readonly status: 'open' | 'disputed' | 'concluded'
  /** Version of the state held. */
  readonly version: bigint
  /**
   * Version of the co-signed state the state held grew from: equal to `version` when the state
   * held is co-signed, below it when the state held ends a chain of forced steps.
   */
  readonly baseVersion: bigint
}

/**
 * Whether a co-signed state of `version` may replace what the Adjudicator holds (the rule of
 * `Adjudicator._replaces`, mirrored): on an open channel any version; during a dispute a version
 * above the record's `baseVersion`. A co-signed state held thus needs a strictly higher version,
 * and any co-signed state above the base of a forced chain replaces the whole chain, however long
 * the chain grew; an older co-signed state never undoes an honestly forced chain. Time (the
 * dispute's deadlines) is checked apart.
 *
 * @example
 * ```ts
 * if (outranksHeld(await getChannelRecord(client, id), latest.state.version)) await register(...)
 * ```
 */
export function outranksHeld(record: HeldRecord, version: bigint): boolean {
  if (record.status === 'concluded') return false
  if (record.status === 'open') return true
  return version > record.baseVersion
}
