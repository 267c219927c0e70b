import type { Address, Hex } from 'viem'
import type { ChannelParams, SignedState, State } from '../channel/types.ts'
import type { PeerMessage } from '../transport/types.ts'
import { channelPhase, type ChannelPhase } from './channelPhase.ts'
import type { AppCode, UpdateResult } from './types.ts'

/** One message type of the protocol. */
export type Msg<T extends PeerMessage['type']> = Extract<PeerMessage, { type: T }>

/** How a proposal in flight ended, as the message handlers report it to the waiting update. */
export type Outcome =
  | 'complete'
  | 'lost'
  /** The refuser was behind and got the latest co-signed state: propose again at once. */
  | 'retry'
  | { finish: State; digest: Hex; sigs: Map<string, Hex> }
  /** A dispute was registered meanwhile: the mover does not sign last. */
  | 'disputed'
  | Extract<UpdateResult, { ok: false }>

/** This party's own proposal in flight: the accepts collected so far, and how to end its update. */
export type Pending = {
  state: State
  digest: Hex
  accepts: Map<string, Hex>
  done: (o: Outcome) => void
}

/**
 * One channel as this party holds it: plain data, changed only by the handlers on the channel's
 * queue. Its phase ({@link machinePhase}) follows from it.
 */
export type ChannelMachine = {
  id: Hex
  key: string
  params: ChannelParams
  myIndex: number
  app: AppCode
  latest: SignedState | undefined
  /** A forced state adopted as the base, when newer than `latest`. */
  forced: State | undefined
  funded: boolean
  /** A dispute is registered on chain ({@link Party.markDisputed}): nothing new is signed. */
  disputed: boolean
  pending: Pending | undefined
  /** open() in progress: signatures collected over the initial state. */
  opening: { digest: Hex; state: State; sigs: Map<string, Hex>; done: (s: SignedState) => void } | undefined
  /** This party's open() was called (peers' opens are held until then), and its result. */
  openResult: Promise<SignedState> | undefined
  queue: Promise<unknown>
  waiters: Set<() => void>
  /** Asks for a missing commit again while this party holds its signature above the latest version. */
  syncTimer: NodeJS.Timeout | undefined
  /** Signatures peers showed (in refusals and sync requests) on this party's own proposals, by digest. */
  offers: Map<string, { state: State; sigs: Map<string, Hex> }>
  /**
   * This party's own proposals above the latest version that a peer may still sign, by digest:
   * the one in flight and those whose update ended without a verdict on them (a timeout, a store
   * error under the last signature). They count in the crossing rule and may be finished.
   */
  own: Map<string, { version: bigint; msg: Msg<'propose'> }>
  /**
   * Own proposals a peer refused (or that lost to another), by digest, with their version: never
   * finished, so a refused step does not come back to life when a refuser signs it late.
   */
  withdrawn: Map<string, bigint>
}

export const lower = (a: string) => a.toLowerCase()

/**
 * A channel machine as this party first holds it: nothing co-signed, nothing in flight.
 *
 * @example
 * ```ts
 * const ch = createChannelMachine({ id, params, myIndex: 0, app, funded: false })
 * ```
 */
export function createChannelMachine(f: {
  id: Hex
  params: ChannelParams
  myIndex: number
  app: AppCode
  funded: boolean
}): ChannelMachine {
  return {
    id: f.id,
    key: lower(f.id),
    params: f.params,
    myIndex: f.myIndex,
    app: f.app,
    latest: undefined,
    forced: undefined,
    funded: f.funded,
    disputed: false,
    pending: undefined,
    opening: undefined,
    openResult: undefined,
    queue: Promise.resolve(),
    waiters: new Set(),
    syncTimer: undefined,
    offers: new Map(),
    own: new Map(),
    withdrawn: new Map(),
  }
}

/** What the next step builds on: a newer adopted forced state (no signatures) or the latest co-signed one. */
export const baseOf = (ch: ChannelMachine): SignedState | undefined =>
  ch.forced !== undefined && (ch.latest === undefined || ch.forced.version > ch.latest.state.version)
    ? { state: ch.forced, signatures: [] }
    : ch.latest

/** The channel's phase (docs/protocol.md, "The state machine of one channel"). */
export const machinePhase = (ch: ChannelMachine): ChannelPhase => {
  const base = baseOf(ch)?.state
  return channelPhase({
    baseVersion: base?.version,
    baseIsFinal: base?.isFinal === true,
    funded: ch.funded,
    proposing: ch.pending !== undefined,
    disputed: ch.disputed,
  })
}

export const others = (ch: ChannelMachine): Address[] =>
  ch.params.participants.filter((_, i) => i !== ch.myIndex)
export const indexOf = (ch: ChannelMachine, a: string): number =>
  ch.params.participants.findIndex((p) => lower(p) === lower(a))
export const isPeer = (ch: ChannelMachine, a: unknown): boolean =>
  typeof a === 'string' && indexOf(ch, a) >= 0 && indexOf(ch, a) !== ch.myIndex

/** Runs `f` after everything queued for the channel: one message or local action at a time. */
export const serial = <T>(ch: ChannelMachine, f: () => Promise<T>): Promise<T> => {
  const p = ch.queue.then(f)
  ch.queue = p.catch(() => undefined)
  return p
}

/** Counts a peer's signature on this party's own proposal; returns the signatures once every other participant's is in. */
export const offer = (ch: ChannelMachine, state: State, digest: Hex, from: Address, sig: Hex) => {
  let o = ch.offers.get(lower(digest))
  if (o === undefined) ch.offers.set(lower(digest), (o = { state, sigs: new Map() }))
  o.sigs.set(lower(from), sig)
  return o.sigs.size === ch.params.participants.length - 1 ? o.sigs : undefined
}

/** An own proposal that a peer refused or that lost: not counted any more, never finished. */
export const withdraw = (ch: ChannelMachine, digest: Hex, version: bigint): void => {
  ch.own.delete(lower(digest))
  if (ch.latest === undefined || ch.latest.state.version < version) ch.withdrawn.set(lower(digest), version)
}

/**
 * Takes a co-signed state as the latest (when it is newer) and clears what it settles: offers,
 * own proposals and withdrawals at or below it. Returns whether it was newer. Pure data: the
 * executor's `setLatest` records it first and tells the waiters.
 */
export const advanceLatest = (ch: ChannelMachine, signed: SignedState): boolean => {
  if (ch.latest !== undefined && ch.latest.state.version >= signed.state.version) return false
  ch.latest = signed
  ch.offers.clear()
  const at = signed.state.version
  for (const [k, o] of ch.own) if (o.version <= at) ch.own.delete(k)
  for (const [k, v] of ch.withdrawn) if (v <= at) ch.withdrawn.delete(k)
  return true
}
