import type { Address, Hex } from 'viem'
import type { Env, ForcedMove, SignedState, State } from '../channel/types.ts'
import type { StepResult } from '../sandbox/runTransition.ts'
import type { ChannelRecord, SignatureRecord } from '../store/types.ts'
import type { PeerMessage } from '../transport/types.ts'
import type { ChannelMachine } from './machineTypes.ts'
import type {
  AdoptResult,
  FundingResult,
  PartyEvent,
  ProposedStep,
  RefusalReason,
  UpdateResult,
} from './types.ts'

// What a handler returns: the channel's next machine and the effects the executor carries out, or
// the one fact it needs from the world before it can decide. Plain data, no I/O.

/** How a proposal in flight ended, as the message handlers report it to the waiting mover. */
export type Outcome =
  | 'lost'
  /** The refuser was behind and got the latest co-signed state: propose again at once. */
  | 'retry'
  /**
   * Every other participant signed `finish`: this party's proposal in flight (same digest) or its
   * earlier one at that version. The mover signs last.
   */
  | { finish: State; digest: Hex; sigs: Map<string, Hex> }
  /** A dispute was registered meanwhile: the mover does not sign last. */
  | 'disputed'
  | Extract<UpdateResult, { ok: false }>

/**
 * One proposal's result; `lost` and `retry` ask `updateChannel` to try again on the newer state,
 * `disputed` makes it throw `DISPUTED`.
 */
export type StepAttempt = UpdateResult | 'lost' | 'retry' | 'disputed'

/**
 * What a `resolve` effect hands to a caller waiting on an id: the peers' verdict on a proposal, the
 * mover's result, the end of an open, or the result of a local action (`confirmFunding`,
 * `adoptForcedChain`).
 */
export type Resolution =
  | { verdict: Outcome }
  | { result: StepAttempt }
  | { opened: SignedState }
  | { openFailed: string }
  | { funding: FundingResult }
  | { adoption: AdoptResult }

/** What follows a state signature once it is recorded (`onSigned`). */
export type AfterSign =
  /** Answer the mover's proposal with `accept`. */
  | { for: 'accept'; to: Address }
  /**
   * This party signed last on its own proposal: commit it to the others. `id` names the waiting
   * update, when one waits; `ownDigest` is the digest of that update's own proposal.
   */
  | { for: 'finish'; id?: string; ownDigest?: Hex; gasUsed?: bigint }
  /** This party signed the initial state: send it in an `open`. */
  | { for: 'open' }

/** What the store and the signer made of a `recordAndSign`. */
export type SignOutcome =
  { ok: true; sig: Hex; signed?: SignedState } | { ok: false; existing: SignatureRecord }

/** The effects a handler asks for, carried out by the executor alone. */
export type Effect =
  /**
   * Sign `record.digest`, durably record "signed version v with digest D" (with the co-signed
   * state when `peerSigs` holds every other participant's signature), and only then hand the
   * signature to `then`. Refused by the store when another digest is recorded at that version.
   */
  | { kind: 'recordAndSign'; record: SignatureRecord; peerSigs?: Map<string, Hex>; then: AfterSign }
  /** Durably store a co-signed state (before the machine that holds it as the latest is taken). */
  | { kind: 'persist'; signed: SignedState }
  /**
   * Durably record, before the machine that holds it is taken, a channel this party opens, or
   * what it learnt of the chain: every deposit confirmed, a forced state adopted as the base, a
   * dispute registered.
   */
  | {
      kind: 'save'
      fact:
        { channel: ChannelRecord } | { funding: readonly bigint[] } | { forced: State } | { disputed: true }
    }
  /** Sign again a digest the store holds a record of, and send it in an `accept`. */
  | { kind: 'signAgain'; record: SignatureRecord; to: Address }
  | { kind: 'send'; to: Address; message: PeerMessage }
  /** A signed `reject`; `show`: what this party signed instead at that version. */
  | {
      kind: 'refuse'
      to: Address
      version: bigint
      digest: Hex
      reason: RefusalReason
      message: string
      show?: SignatureRecord
    }
  /** Ask `to` (default: every other participant) for the co-signed state at `version`. */
  | { kind: 'askSync'; version: bigint; to?: Address; show?: SignatureRecord }
  /** Hand `value` to the caller waiting on `id` (a proposal's update, an open). */
  | { kind: 'resolve'; id: string; value: Resolution }
  | { kind: 'emit'; event: PartyEvent }
  /** Count and report a message that is ignored. */
  | { kind: 'drop'; reason: string; message: string }
  /** Ask for the commit of `version` again after a while, as long as it is missing. */
  | { kind: 'schedule'; timer: 'sync'; version: bigint }

/** A fact from the world that a handler asks for; the answer's type is {@link Answer}. */
export type Ask =
  /** This party's signature record at `version`, or null. */
  | { kind: 'signedAt'; version: bigint }
  /** The co-signed state at `version` as stored, or null. */
  | { kind: 'coSignedAt'; version: bigint }
  /** The deposits recorded for the channel, or null. */
  | { kind: 'funding' }
  /** This party's view of the chain head and time. */
  | { kind: 'clock' }
  /** Whether `env` is within tolerance of this party's clock (read afresh when it lags). */
  | { kind: 'envWithin'; env: Env }
  /** The app's transition run in this party's sandbox. */
  | { kind: 'rerun'; from: State; mover: bigint; action: Hex; env: Env }
  /** Each move of a forced chain re-run in this party's sandbox, from the chain's state before it. */
  | { kind: 'rerunMoves'; base: State; moves: readonly ForcedMove[] }
  /** This party's policy on a valid step: `true`, or a reason to refuse. */
  | { kind: 'approve'; step: ProposedStep }
  /** Whether `sig` over `digest` recovers to `who`. */
  | { kind: 'recover'; digest: Hex; sig: unknown; who: Address }
  /** This party's `Proposal` signature on its own step (never a state signature). */
  | { kind: 'signProposal'; state: State; digest: Hex; action: Hex; env: Env }

/** The answer to each kind of {@link Ask}. */
export type Answer = {
  signedAt: SignatureRecord | null
  coSignedAt: SignedState | null
  funding: readonly bigint[] | null
  clock: Env
  envWithin: boolean
  rerun: StepResult
  rerunMoves: StepResult[]
  approve: boolean | string
  recover: boolean
  signProposal: Hex
}

/** A decision: the next machine and what to do. */
export type Step = { machine: ChannelMachine; effects: Effect[] }

/** Where a store error while handling a peer's proposal is answered (`store-error`). */
export type StoreErrorReply = { to: Address; version: bigint; digest: Hex }

/** What a handler returns: a decision, or one more fact to fetch (then it is asked again). */
export type Handled<F> =
  | (Step & { onStoreError?: StoreErrorReply })
  | { need: { key: keyof F & string; ask: Ask }; onStoreError?: StoreErrorReply }

/** A handler: pure, `(machine, input, facts) -> decision`; it never changes what it is given. */
export type Handler<I, F> = (machine: ChannelMachine, input: I, facts: F) => Handled<F>

/** A decision with `effects` on `machine`. */
export const decided = (machine: ChannelMachine, effects: Effect[] = []): Step => ({ machine, effects })

/** Runs `f` on the machine `s` leaves, keeping the effects of both in order. */
export const andThen = (s: Step, f: (m: ChannelMachine) => Step): Step => {
  const n = f(s.machine)
  return { machine: n.machine, effects: [...s.effects, ...n.effects] }
}

/** Asks for the fact `key` (answered by `ask`). */
export const need = <F>(key: keyof F & string, ask: Ask): Handled<F> => ({ need: { key, ask } })
