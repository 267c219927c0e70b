import type { Address, Hex } from 'viem'
import type { ChannelParams, Env, SignedState, State } from '../channel/types.ts'

/** What a party keeps about one of its channels. */
export type ChannelRecord = {
  channelId: Hex
  params: ChannelParams
  /** This party's index in `params.participants`. */
  myIndex: number
}

/** A peer's proposal as the party that signed its state keeps it: who moved, what, when, and the mover's `Proposal` signature. */
export type ProposalRecord = { mover: number; action: Hex; env: Env; sig: Hex }

/**
 * "I signed version `version` of the channel with digest `digest`", the state itself and, when a
 * peer proposed it, that proposal (so a refusal can show the mover its own proposal).
 */
export type SignatureRecord = {
  channelId: Hex
  version: bigint
  digest: Hex
  state: State
  proposal?: ProposalRecord
}

export type RecordSignatureResult = { ok: true } | { ok: false; existing: SignatureRecord }

/**
 * The durable memory of a party. A write is *written* once it is in the store's log: in the order
 * asked, seen by every later read of this store, kept when the process dies. It is *durable* once a
 * finished disk sync covers it, so a power cut keeps it too (for the SQLite store: WAL, the log
 * synced on the thread pool). The log is sequential: a durable write makes every write before it
 * durable.
 *
 * Every write but {@link writeSignedState} resolves only once it is durable. The rules that rest on
 * it:
 * - Record before sign: the protocol hands a state signature on only after its `recordSignature`
 *   (or `recordSignatureAndState`) resolved, i.e. the record is durable.
 * - A co-signed state received from a peer is stored with `writeSignedState`: once it is written the
 *   party takes it as its latest and handles the channel's next message (which only reads it or
 *   writes after it), while {@link whenDurable} waits for the sync. Nothing outside the party sees
 *   it before that resolved: neither the transport's acknowledgement of the message that brought
 *   it, nor the party's events that follow it (`committed`, `opened`, a later `signed`), nor a
 *   caller waiting for a newer version, nor a dispute or payout (the party's `latest` and
 *   `waitForVersion` wait for it). A failed sync rejects `whenDurable` with `STORE_ERROR`: the
 *   message stays unacknowledged and none of that happens.
 * - A read resolves only once what it read is durable, except that a read of signature records,
 *   channels, funding or disputes does not wait for a co-signed state written by
 *   `writeSignedState`, which it does not read.
 *
 * Implementations: `createSqliteStore` (a real file) and `createMemoryStore` (tests, benches
 * that measure something else). Both pass `test/store/conformance.ts`.
 */
export interface ChannelStore {
  /**
   * Writes and reads back a probe in one transaction: rejects with `STORE_ERROR` when the store
   * cannot write (a read-only file, a full disk), so a party fails at start and not mid-step.
   */
  probeWrite(): Promise<void>
  putChannel(record: ChannelRecord): Promise<void>
  getChannel(channelId: Hex): Promise<ChannelRecord | undefined>
  listChannels(): Promise<ChannelRecord[]>
  /**
   * Records that this party signs `state` (digest `digest`) at its version. Idempotent for the
   * same digest; refuses, returning the existing record, a different digest at a version already
   * signed. Atomic: two concurrent calls for one version cannot both succeed with different digests.
   */
  recordSignature(record: SignatureRecord): Promise<RecordSignatureResult>
  getSignatureRecord(channelId: Hex, version: bigint): Promise<SignatureRecord | undefined>
  /** Stores a fully co-signed state, durably. Keeps every version; the highest is the latest. */
  putSignedState(channelId: Hex, signed: SignedState): Promise<void>
  /**
   * Stores a fully co-signed state like {@link putSignedState}, but resolves once it is written,
   * before it is durable: {@link whenDurable}, asked after, resolves once it is. Rejects (and
   * stores nothing) like `putSignedState` when the write fails.
   */
  writeSignedState(channelId: Hex, signed: SignedState): Promise<void>
  /**
   * Resolves once every write asked for before this call is durable; rejects with `STORE_ERROR`
   * once a disk sync failed (what the disk holds is then unknown, and the store stays failed).
   * With `lingerMs`, the store may wait that long before it starts a disk sync for them, so that
   * the sync a later write needs serves both (a store that is always durable ignores it).
   */
  whenDurable(lingerMs?: number): Promise<void>
  /**
   * `recordSignature` and `putSignedState` in one atomic write: the last signer of a state records
   * its signature and stores the co-signed state with one disk sync. Stores nothing if a different
   * digest is recorded at that version.
   */
  recordSignatureAndState(record: SignatureRecord, signed: SignedState): Promise<RecordSignatureResult>
  getLatestSignedState(channelId: Hex): Promise<SignedState | undefined>
  getSignedState(channelId: Hex, version: bigint): Promise<SignedState | undefined>
  /**
   * Stores a state that was forced on chain (not co-signed) and that this party adopted as the
   * base of its next off-chain step. Keeps every version; the highest is the latest.
   */
  putForcedState(channelId: Hex, state: State): Promise<void>
  getLatestForcedState(channelId: Hex): Promise<State | undefined>
  /**
   * Records that every participant has funded the channel: `deposited[i]` is what participant i
   * holds in the Adjudicator, each at least its initial balance. Kept once; a later call replaces it.
   */
  putFunding(channelId: Hex, deposited: readonly bigint[]): Promise<void>
  /** The deposits recorded by {@link putFunding}, or undefined while the channel is unfunded. */
  getFunding(channelId: Hex): Promise<readonly bigint[] | undefined>
  /**
   * Records that a dispute is registered on chain for the channel: from then on the party neither
   * proposes nor signs a new step. Kept for good (a dispute ends only with the channel concluded).
   */
  putDisputed(channelId: Hex): Promise<void>
  /** Whether {@link putDisputed} was recorded for the channel. */
  isDisputed(channelId: Hex): Promise<boolean>
  close(): Promise<void>
}

export type { Address }
