import type { Address, Hex } from 'viem'
import type { ChannelParams, SignedState, State } from '../channel/types.ts'

/** What a party keeps about one of its channels. */
export type ChannelRecord = {
  channelId: Hex
  params: ChannelParams
  /** This party's index in `params.participants`. */
  myIndex: number
}

/** "I signed version `version` of the channel with digest `digest`", and the state itself. */
export type SignatureRecord = {
  channelId: Hex
  version: bigint
  digest: Hex
  state: State
}

export type RecordSignatureResult = { ok: true } | { ok: false; existing: SignatureRecord }

/**
 * The durable memory of a party. Every write is on disk before the promise resolves (for the
 * SQLite store: WAL with synchronous=FULL), because the protocol sends a signature only after
 * `recordSignature` resolved and acts on a co-signed state only after `putSignedState` resolved.
 *
 * Implementations: `createSqliteStore` (a real file) and `createMemoryStore` (tests, benches
 * that measure something else). Both pass `test/store/conformance.ts`.
 */
export interface ChannelStore {
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
  /** Stores a fully co-signed state. Keeps every version; the highest is the latest. */
  putSignedState(channelId: Hex, signed: SignedState): Promise<void>
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
  close(): Promise<void>
}

export type { Address }
