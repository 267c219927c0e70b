import type { Address, Hex } from 'viem'
import type { ChannelParams, ForcedChain, ForcedMove, SignedState, State } from '../channel/types.ts'
import type { ChanvmError } from '../errors.ts'
import type { ForcedBaseReason } from '../protocol/judgeForcedChain.ts'

/** A block by number and hash. */
export type BlockRef = { readonly number: bigint; readonly hash: Hex }

/** What every Adjudicator log the watcher reads carries, besides its arguments. */
type LogPlace = {
  readonly channelId: Hex
  readonly blockNumber: bigint
  readonly blockHash: Hex
  readonly logIndex: number
  readonly txHash: Hex
}

/** A decoded Adjudicator log of one channel, as the {@link WatcherChain} returns it. */
export type ChainLog = LogPlace &
  (
    | {
        readonly type: 'Deposited'
        readonly participant: Address
        readonly amount: bigint
        /** The participant's total deposit into the channel. */
        readonly deposited: bigint
        /** The channel's holdings after the deposit. */
        readonly holdings: bigint
      }
    | {
        readonly type: 'Registered'
        readonly finalizesAt: bigint
        readonly movesUntil: bigint
        readonly state: State
      }
    | {
        readonly type: 'Progressed'
        readonly finalizesAt: bigint
        /** Version of the co-signed state the forced chain grew from. */
        readonly baseVersion: bigint
        readonly mover: bigint
        readonly action: Hex
        readonly state: State
        /** Timestamp of the log's block: with the block number, the Env the app saw. */
        readonly blockTimestamp: bigint
      }
    | { readonly type: 'Concluded'; readonly version: bigint; readonly payouts: readonly bigint[] }
  )

/** A channel's on-chain record, as far as the watcher needs it (`getChannelRecord`). */
export type WatcherRecord = {
  readonly status: 'open' | 'disputed' | 'concluded'
  readonly version: bigint
  readonly baseVersion: bigint
  readonly finalizesAt: bigint
  readonly movesUntil: bigint
  readonly holdings: bigint
  /** EIP-712 struct hash of the state held (zero when none). */
  readonly stateHash: Hex
}

/**
 * The watcher's port to the chain: all it reads, nothing it sends. `createViemWatcherChain` is the
 * JSON-RPC implementation; the rules never see it, only the facts it returns.
 */
export type WatcherChain = {
  /** The newest block. */
  head(): Promise<BlockRef & { readonly timestamp: bigint }>
  /** The hash of the canonical block `number`; undefined when the chain is shorter. */
  blockHash(number: bigint): Promise<Hex | undefined>
  /** The timestamp of a block, by number or hash. */
  blockTimestamp(block: bigint | Hex): Promise<bigint>
  /** The Adjudicator's logs of these channels in blocks `from..to` (inclusive), in chain order. */
  logs(from: bigint, to: bigint, channelIds: readonly Hex[]): Promise<ChainLog[]>
  /** A channel's record at block `atBlock` (default: the newest block). */
  record(channelId: Hex, atBlock?: bigint): Promise<WatcherRecord>
}

/** What the watcher knows of a channel: its record, and the dispute's chain as the logs showed it. */
export type ChannelView = {
  readonly params: ChannelParams
  readonly channelId: Hex
  readonly status: 'open' | 'disputed' | 'concluded'
  /** Version of the state held (0 while open). */
  readonly version: bigint
  /** Version of the co-signed state the state held grew from (= `version` when it is co-signed). */
  readonly baseVersion: bigint
  /** Whether the state held ends a chain of forced steps (`version > baseVersion`). */
  readonly forced: boolean
  /** When the dispute can be concluded (unix seconds); 0 when none runs. */
  readonly finalizesAt: bigint
  /** Until when forced steps are accepted (unix seconds); 0 when no dispute runs or unknown yet. */
  readonly movesUntil: bigint
  readonly holdings: bigint
  /** EIP-712 struct hash of the state held (zero when none). */
  readonly stateHash: Hex
  /** The state held, in full, once a log carrying it was read. */
  readonly held: State | undefined
  /**
   * The dispute's chain: the co-signed base (from `Registered`) and every forced move since (from
   * `Progressed`). Undefined when the logs that built it were not read (then only the record is known).
   */
  readonly chain: ForcedChain | undefined
  /** Struct hash of the base of the last chain reported as overwriting co-signed history. */
  readonly overwriteReported: Hex | undefined
  /** Version of the co-signed state last reported as missed. */
  readonly missedReported: bigint | undefined
}

/** A fact the reducer folds into a channel's view. */
export type WatcherFact =
  | { readonly type: 'log'; readonly log: ChainLog }
  /** The channel's record at the block the logs were read to, and the chain's time now. */
  | { readonly type: 'record'; readonly record: WatcherRecord; readonly now: bigint }

/** Why a forced chain is not adopted (the party's rule, {@link judgeForcedChain}). */
export type OverwriteReason = ForcedBaseReason

/** What the reducer asks the driver to do. */
export type WatcherDecision =
  /** Register `signed` over the state held: it outranks it and the challenge period runs. */
  | {
      readonly type: 'refute'
      readonly channelId: Hex
      readonly signed: SignedState
      readonly staleVersion: bigint
    }
  /** A co-signed state outranks the state held, but the challenge period is over. */
  | {
      readonly type: 'missed'
      readonly channelId: Hex
      readonly heldVersion: bigint
      readonly latestVersion: bigint
    }
  /** Hand the whole forced chain to the party: it starts at (or above) the latest co-signed state. */
  | { readonly type: 'adopt'; readonly chain: ForcedChain }
  /** A forced chain that does not start from the latest co-signed state: report it (it is refuted apart). */
  | {
      readonly type: 'report-overwrite'
      readonly chain: ForcedChain
      readonly latestVersion: bigint
      readonly reason: OverwriteReason
    }
  /** The record contradicts the view (a log was missed or reorganised away): read the channel again. */
  | { readonly type: 'rebuild'; readonly channelId: Hex }

/** Where the watcher is: the next block to read and the hashes of the last blocks it read up to. */
export type WatcherCheckpoint = {
  /** The next block to read; undefined before the first poll. */
  readonly cursor: bigint | undefined
  /** Ends of the last block ranges read, oldest first: a changed hash means a reorganisation. */
  readonly blocks: readonly BlockRef[]
}

/** The watcher's port to the party's store: the newest state every participant signed. */
export type SignedStateSource = {
  getLatestSignedState(channelId: Hex): Promise<SignedState | undefined>
}

/** Everything the watcher reports, in chain order per channel. */
export type WatcherEvent =
  | {
      type: 'deposited'
      channelId: Hex
      participant: Address
      amount: bigint
      deposited: bigint
      holdings: bigint
      blockNumber: bigint
    }
  | {
      type: 'registered'
      channelId: Hex
      state: State
      finalizesAt: bigint
      movesUntil: bigint
      blockNumber: bigint
      txHash: Hex
    }
  | ({
      type: 'progressed'
      channelId: Hex
      baseVersion: bigint
      finalizesAt: bigint
      blockNumber: bigint
      txHash: Hex
      /** The dispute's whole chain up to this move, when the watcher read it from its base. */
      chain: ForcedChain | undefined
    } & ForcedMove)
  | { type: 'concluded'; channelId: Hex; version: bigint; payouts: readonly bigint[]; blockNumber: bigint }
  /** The watcher registered its newer co-signed state over the state held. */
  | { type: 'refuted'; channelId: Hex; staleVersion: bigint; version: bigint; txHash: Hex }
  /** A forced chain that rewrote co-signed history; it is never adopted, and refuted while time remains. */
  | { type: 'overwrote'; channelId: Hex; chain: ForcedChain; latestVersion: bigint; reason: OverwriteReason }
  /** A newer co-signed state exists but the challenge period is over: too late to refute. */
  | { type: 'missed'; channelId: Hex; heldVersion: bigint; latestVersion: bigint }
  /** Blocks the watcher had read were replaced: it went back to `commonBlock` and reads on from there. */
  | { type: 'reorg'; commonBlock: bigint; replacedFrom: bigint }
  | { type: 'rpc-down'; error: ChanvmError }
  | { type: 'rpc-up' }
  | { type: 'error'; channelId: Hex | undefined; error: ChanvmError }
