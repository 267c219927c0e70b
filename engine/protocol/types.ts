import type { Abi, Address, Hex } from 'viem'
import type { ChannelParams, Env, ForcedChain, SignedState, State } from '../channel/types.ts'
import type { CryptoPool } from '../crypto/createCryptoPool.ts'
import type { Signer } from '../crypto/types.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import type { StepResult } from '../sandbox/runTransition.ts'
import type { ChannelStore } from '../store/types.ts'
import type { PeerTransport } from '../transport/types.ts'
import type { ChannelPhase } from './channelPhase.ts'

/** An app the party can run: runtime code (its keccak256 is the channel's `appCodeHash`) and ABI. */
export type AppCode = { code: Hex; abi?: Abi }

export type PartyOptions = {
  /** Signs states, proposals and refusals; its address is this party's participant address. */
  signer: Signer
  transport: PeerTransport
  store: ChannelStore
  sandbox: Sandbox
  /** The apps this party agrees to run, found by code hash. */
  apps: readonly AppCode[]
  /**
   * This party's view of the chain head and the time. A proposal's env is accepted only within
   * `envTolerance` of it. Default: block 0 and the host clock in seconds.
   */
  clock?: () => Env | Promise<Env>
  /**
   * Reads the chain's head now. A `clock` that answers from a head held in memory may lag the
   * mover's; a proposal ahead of it by more than `envTolerance` is checked once more against this.
   */
  freshClock?: () => Promise<Env>
  /** Default: 10 blocks, 60 seconds. */
  envTolerance?: { blocks: bigint; seconds: bigint }
  /**
   * How long a proposer waits for every other participant. Default 10,000 ms. It also paces
   * re-sync (a signer without its commit asks after this long, then 2, 4 … up to 32 times as
   * long) and bounds how long a peer's `open` is held for a channel not opened here (3 times).
   */
  responseTimeoutMs?: number
  /**
   * How many peer messages start in one window (about two turns of the event loop); the rest wait
   * for later windows, in order, so that the replies to a burst leave while the burst is still
   * being handled (see `createTurnGate`). Default 8; `Infinity` handles a whole burst at once;
   * anything but a whole number of at least 1 or `Infinity` is a `CONFIG` error.
   */
  messagesPerTurn?: number
  /** How often an update that lost a simultaneous proposal is retried on the new state. Default 3. */
  maxRetries?: number
  /**
   * Whether a channel needs {@link Party.confirmFunding} before any step. Default true: no party
   * acts on a channel that a counterparty has not funded. Only tests without a chain turn it off.
   */
  requireFunding?: boolean
  /** Every step the party takes or refuses, for logs and the command line. */
  onEvent?: (event: PartyEvent) => void
  /**
   * This party's policy: asked about every valid step a peer proposes (after the signature, env
   * and re-run checks, before anything is recorded). Return `true` to sign, or a reason to refuse
   * with a signed `reject` (`refused`). Default: sign every valid step.
   */
  approve?: (step: ProposedStep) => boolean | string | Promise<boolean | string>
  /**
   * Threads that sign and recover signatures while this party handles other messages
   * ({@link createCryptoPool}): a key signer ({@link createKeySigner}) signs through it, and the
   * signatures a message carries are recovered on it. The party ends it when it closes (or fails
   * to start).
   * Default: none, all on the calling thread.
   */
  cryptoPool?: CryptoPool
}

export type PartyEvent =
  | { type: 'opened'; channelId: Hex; state: State }
  | { type: 'funded'; channelId: Hex; deposited: readonly bigint[] }
  | { type: 'proposed'; channelId: Hex; version: bigint; mover: number }
  | { type: 'signed'; channelId: Hex; version: bigint; digest: Hex }
  | { type: 'committed'; channelId: Hex; state: State; signatures: readonly Hex[] }
  | {
      type: 'refused'
      channelId: Hex
      version: bigint
      from: Address
      reason: RefusalReason
      message: string
    }
  | { type: 'peer-refused'; channelId: Hex; version: bigint; from: Address; reason: string; message: string }
  | { type: 'sync'; channelId: Hex; version: bigint; direction: 'asked' | 'answered'; peer: Address }
  | { type: 'store-error'; channelId: Hex; message: string }
  | { type: 'dropped'; reason: string; message: string }
  | { type: 'adopted'; channelId: Hex; state: State }
  | { type: 'disputed'; channelId: Hex }

/** A valid step a peer proposes, as shown to {@link PartyOptions.approve}. */
export type ProposedStep = { channelId: Hex; from: State; to: State; mover: number; action: Hex; env: Env }

/** Why this party refused a peer's proposal. */
export type RefusalReason =
  | 'refused'
  | 'stale'
  | 'version-gap'
  | 'conflict'
  | 'env'
  | 'step-rejected'
  | 'state-mismatch'
  | 'conflicting-signature'
  | 'final'
  | 'unfunded'
  | 'store-error'
  /** A dispute is registered on chain for the channel ({@link Party.markDisputed}). */
  | 'disputed'

export type UpdateResult =
  | { ok: true; signed: SignedState; gasUsed: bigint }
  | { ok: false; reason: 'step-rejected'; step: Extract<StepResult, { ok: false }> }
  | { ok: false; reason: 'peer-rejected'; from: Address; peerReason: string; message: string }
  | { ok: false; reason: 'peer-timeout'; missing: Address[] }
  /**
   * No co-signed state for this action. `finished`: the others had signed this party's earlier
   * proposal at that version (one that timed out, or from before a restart), and this party
   * finished that state instead; the action was not applied on top of it.
   */
  | { ok: false; reason: 'conflict'; message: string; finished?: SignedState }
  | { ok: false; reason: 'unfunded'; message: string }

/** What {@link Party.adoptForcedChain} did with a forced chain. */
export type AdoptResult =
  | { ok: true; state: State }
  | {
      ok: false
      reason: 'older-base' | 'different-base' | 'broken-chain' | 'mismatch' | 'stale'
      message: string
    }

/** What {@link Party.confirmFunding} found. */
export type FundingResult =
  { ok: true } | { ok: false; reason: 'underfunded'; missing: number[]; message: string }

export type Party = {
  readonly address: Address
  /**
   * Co-signs the channel's initial state (version 0) with every participant. Each participant
   * calls it with the same params and state; resolves with the co-signed state (or the latest one
   * when the channel was opened before).
   */
  open(params: ChannelParams, initial: State): Promise<SignedState>
  /**
   * Marks the channel funded once every participant i has deposited at least its initial balance
   * (`deposited[i]`, read from the Adjudicator). Until then (with `requireFunding`) this party
   * neither proposes nor signs a step. Persisted.
   */
  confirmFunding(channelId: Hex, deposited: readonly bigint[]): Promise<FundingResult>
  /**
   * Runs `action` as this party's move on the latest co-signed state, has every other participant
   * re-run and sign it, then signs it last and stores it. A rejected step, a peer's refusal or a
   * timeout is a result, not an exception. A `peer-timeout` is "not co-signed yet": re-sync may
   * still complete the step, so read {@link Party.latest} before retrying. A peer that could not
   * write its store (`store-error`, reported as a `peer-refused` event) gives no verdict either:
   * the update waits for it, then ends in `peer-timeout`.
   */
  update(channelId: Hex, action: Hex, options?: { env?: Env }): Promise<UpdateResult>
  /** The latest co-signed state, once durable in the store. */
  latest(channelId: Hex): Promise<SignedState | undefined>
  /**
   * Takes a chain of states forced on chain (reported by the watcher) as the base of the next
   * off-chain step: only when its base is at or above the latest co-signed state (and is that very
   * state at the same version) and every move re-runs in this party's sandbox, with its Env, to
   * exactly the move's state. A chain that does not qualify is a verdict, never an exception.
   */
  adoptForcedChain(chain: ForcedChain): Promise<AdoptResult>
  /**
   * Tells the party that a dispute is registered on chain for the channel (the watcher saw
   * `Registered` or `Progressed`). Recorded in the store; from then on the party neither proposes
   * nor signs a new step of the channel: `update` rejects with `DISPUTED`, a peer's proposal is
   * refused with `disputed`, and an update in flight ends with `DISPUTED` without the last
   * signature. It still answers sync requests and re-sends what it signed before, and stores
   * commits of states every participant signed. Idempotent.
   */
  markDisputed(channelId: Hex): Promise<void>
  /** The state the next step builds on: the latest co-signed state, or a newer adopted forced one. */
  base(channelId: Hex): Promise<State | undefined>
  /** Where the channel stands: opening, funding, open, proposing, final or disputed ({@link ChannelPhase}). */
  phase(channelId: Hex): ChannelPhase
  /** Waits until the latest co-signed version is at least `version`. */
  waitForVersion(channelId: Hex, version: bigint, timeoutMs?: number): Promise<SignedState>
  /** Counts of refused and dropped messages by reason. */
  stats(): Record<string, number>
  /**
   * Stops handling messages (they stay unacknowledged), ends updates in flight with `peer-timeout`
   * and waits, up to `responseTimeoutMs`, for the work queued on each channel. Closes neither the
   * store nor the transport.
   */
  close(): Promise<void>
}
