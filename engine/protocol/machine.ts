import type { Address, Hex } from 'viem'
import type { ChannelParams, SignedState, State } from '../channel/types.ts'
import { channelPhase, type ChannelPhase } from './channelPhase.ts'
import { decided, type Effect, type Step } from './effects.ts'
import type { ChannelMachine } from './machineTypes.ts'
import type { AppCode } from './types.ts'

export type { ChannelMachine, Msg, Pending } from './machineTypes.ts'

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
    offers: new Map(),
    own: new Map(),
    withdrawn: new Map(),
    signedLast: undefined,
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

/**
 * Whether this party's state signature at `version` stays in: a dispute is registered (version 0,
 * the opening, excepted), even for a signature made again from a record (docs/protocol.md, "A
 * channel in dispute").
 */
export const withheld = (ch: ChannelMachine, version: bigint): boolean => ch.disputed && version > 0n

/** This party's address in the channel. */
export const selfOf = (ch: ChannelMachine): Address => ch.params.participants[ch.myIndex] as Address

const without = <K, V>(m: Map<K, V>, keep: (v: V, k: K) => boolean): Map<K, V> =>
  new Map([...m].filter(([k, v]) => keep(v, k)))

/**
 * Counts a peer's signature on this party's own proposal: the machine with it, and the signatures
 * once every other participant's is in.
 */
export const offer = (
  ch: ChannelMachine,
  state: State,
  digest: Hex,
  from: Address,
  sig: Hex,
): { machine: ChannelMachine; sigs: Map<string, Hex> | undefined } => {
  const before = ch.offers.get(lower(digest))
  const sigs = new Map(before?.sigs ?? [])
  sigs.set(lower(from), sig)
  const offers = new Map(ch.offers).set(lower(digest), { state: before?.state ?? state, sigs })
  const machine = { ...ch, offers }
  return { machine, sigs: sigs.size === ch.params.participants.length - 1 ? sigs : undefined }
}

/** An own proposal that a peer refused or that lost: not counted any more, never finished. */
export const withdraw = (ch: ChannelMachine, digest: Hex, version: bigint): ChannelMachine => {
  const own = without(ch.own, (_, k) => k !== lower(digest))
  const withdrawn =
    ch.latest === undefined || ch.latest.state.version < version
      ? new Map(ch.withdrawn).set(lower(digest), version)
      : ch.withdrawn
  return { ...ch, own, withdrawn }
}

/**
 * Takes a co-signed state as the latest (when it is newer) and clears what it settles: offers,
 * own proposals and withdrawals at or below it; an open in progress ends with it, and a proposal
 * in flight at or below it has lost. The state must be recorded first (a `persist` effect, or the
 * last signer's `recordAndSign`).
 */
export const takeLatest = (ch: ChannelMachine, signed: SignedState): Step => {
  if (ch.latest !== undefined && ch.latest.state.version >= signed.state.version) return decided(ch)
  const at = signed.state.version
  const machine: ChannelMachine = {
    ...ch,
    latest: signed,
    offers: new Map(),
    own: without(ch.own, (o) => o.version > at),
    withdrawn: without(ch.withdrawn, (v) => v > at),
  }
  const effects: Effect[] = [
    {
      kind: 'emit',
      event: { type: 'committed', channelId: ch.id, state: signed.state, signatures: signed.signatures },
    },
  ]
  if (ch.opening !== undefined) {
    machine.opening = undefined
    effects.push(
      { kind: 'emit', event: { type: 'opened', channelId: ch.id, state: signed.state } },
      { kind: 'resolve', id: ch.opening.digest, value: { opened: signed } },
    )
  }
  if (ch.pending !== undefined && ch.pending.state.version <= at)
    effects.push({ kind: 'resolve', id: ch.pending.id, value: { verdict: 'lost' } })
  return { machine, effects }
}
