import type { Hex } from 'viem'
import type { ChannelParams, SignedState, State } from '../channel/types.ts'
import type { PeerMessage } from '../transport/types.ts'
import type { AppCode } from './types.ts'

// The shape of one channel as a party holds it: plain data. The functions on it live in
// machine.ts; the effects a handler returns (effects.ts) name it from here, so neither imports the
// other's module back.

/** One message type of the protocol. */
export type Msg<T extends PeerMessage['type']> = Extract<PeerMessage, { type: T }>

/**
 * This party's own proposal in flight: the accepts collected so far. `id` names the update that
 * waits for it (its verdict comes in a `resolve` effect).
 */
export type Pending = {
  id: string
  state: State
  digest: Hex
  accepts: Map<string, Hex>
  gasUsed: bigint
}

/**
 * One channel as this party holds it: plain data (`structuredClone` copies it), replaced only by
 * what the handlers on the channel's queue return. Its phase (`machinePhase` in machine.ts) follows from it.
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
  opening: { digest: Hex; state: State; sigs: Map<string, Hex> } | undefined
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
  /**
   * This party's last state signature as it handed it out, once recorded (digest and signature in
   * lower case): a co-signed state that carries these bytes at this party's index over this digest
   * needs no recovery of them; other bytes there are recovered like any signature.
   */
  signedLast: { digest: string; sig: string } | undefined
}
