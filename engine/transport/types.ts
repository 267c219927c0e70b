import type { Address, Hex } from 'viem'

/** A JSON-safe State on the wire: bigints as decimal strings. */
export type WireState = {
  channelId: Hex
  version: string
  balances: string[]
  appData: Hex
  isFinal: boolean
}

/** A JSON-safe ChannelParams on the wire. */
export type WireParams = {
  chainId: string
  adjudicator: Address
  participants: Address[]
  app: Address
  appCodeHash: Hex
  challengeDuration: string
  nonce: string
}

/**
 * Messages parties send each other about a channel. Every message but `sync` is signed by its
 * sender: `propose` and `reject` carry an EIP-712 signature over their content, `open`, `accept`
 * and `commit` carry state signatures. The protocol is in docs/protocol.md.
 */
export type PeerMessage =
  | {
      type: 'open'
      channelId: Hex
      from: Address
      params: WireParams
      state: WireState
      /** The sender's signature over the initial state. */
      sig: Hex
    }
  | {
      type: 'propose'
      channelId: Hex
      from: Address
      /** The proposed post-state (base version + 1). */
      state: WireState
      mover: number
      action: Hex
      env: { blockNumber: string; timestamp: string }
      /** Signatures of the base state, so a party that missed its commit can catch up. */
      baseSigs: Hex[]
      /** The mover's EIP-712 `Proposal` signature. */
      sig: Hex
    }
  | { type: 'accept'; channelId: Hex; from: Address; version: string; digest: Hex; sig: Hex }
  | {
      type: 'reject'
      channelId: Hex
      from: Address
      version: string
      digest: Hex
      reason: string
      message: string
      /** The sender's EIP-712 `Reject` signature. */
      sig: Hex
      /**
       * With `conflicting-signature`: the state the sender signed at this version instead, its
       * state signature and, when a mover proposed it, that proposal (with the mover's `Proposal`
       * signature), so that the mover can finish it. Self-authenticating; not covered by `sig`.
       */
      signed?: { state: WireState; sig: Hex; proposal?: WireProposal }
    }
  | {
      type: 'commit'
      channelId: Hex
      from: Address
      version: string
      digest: Hex
      /** One state signature per participant, in participant order. */
      sigs: Hex[]
      /** The co-signed state (its digest is `digest`): the commit is self-authenticating. */
      state?: WireState
    }
  | {
      /**
       * "I lack the co-signed state at `version`": whoever holds a co-signed state at that version
       * or a newer one answers with a `commit` of its latest. Unsigned: it reveals nothing a
       * participant does not already hold. When the sender signed a mover's proposal at that
       * version, `signed` shows it (as in a `conflicting-signature` reject), so that the mover can
       * finish its own proposal even when it has none in flight any more.
       */
      type: 'sync'
      channelId: Hex
      from: Address
      version: string
      signed?: { state: WireState; sig: Hex; proposal?: WireProposal }
    }

/** A proposal as a party keeps it next to its signature: who moved, what, when, and the mover's `Proposal` signature. */
export type WireProposal = {
  mover: number
  action: Hex
  env: { blockNumber: string; timestamp: string }
  sig: Hex
}

/**
 * The port parties talk through. Implementations: `createMemoryTransport` (in-process hub),
 * the MQTT transport in `oracles/mqtt` (per-channel topics), and any other (WebSocket, libp2p).
 * Delivery is at least once and unordered between different senders; the protocol tolerates
 * duplicates. A transport never interprets messages.
 */
export interface PeerTransport {
  /** This party's address: messages sent to it arrive at `onMessage`. */
  readonly self: Address
  /** Sends `message` to participant `to` about `message.channelId`. Resolves once handed off. */
  send(to: Address, message: PeerMessage): Promise<void>
  /**
   * Registers the receiver. Returns a function that removes it. The handler's promise resolves
   * once the party has durably stored whatever the message made it store: a transport with
   * acknowledgements (MQTT QoS 1) acknowledges a message only then, and never acknowledges one
   * whose handler rejected or that was delivered while no handler was registered, so the broker
   * redelivers it after a crash. A handler rejects when the message could not be handled durably
   * (a store error) or is for a channel the party does not hold; an `open` for a channel the party
   * has not opened yet is held (its promise stays pending) until the party opens it or a time
   * limit passes. So a transport keeps delivering other messages while a handler's promise is
   * pending.
   */
  onMessage(handler: (message: PeerMessage) => void | Promise<void>): () => void
  close(): Promise<void>
}
