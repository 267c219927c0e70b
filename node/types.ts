// The node's public shape: what `createNode` returns, what the HTTP API serves and what the
// commands send. The composition root (node/createNode.ts), the HTTP server (node/http/) and the
// commands (cli/) all build against these types; change them in one place.
import type { Address, Hex } from 'viem'
import type { ChannelPhase } from '../engine/protocol/channelPhase.ts'
import type { Party, PartyEvent, UpdateResult } from '../engine/protocol/types.ts'
import type { WatcherEvent } from '../engine/watcher/types.ts'
import type { AppName, NodeJournalView } from './journalTypes.ts'
import type { AppRegistry } from '../apps/module/createAppRegistry.ts'

export type { AppName } from './journalTypes.ts'

/**
 * A node's configuration file (JSON). Keys never appear here: `keystore` names an Ethereum V3
 * keystore file whose passphrase comes from `CHANVM_PASSPHRASE` or a prompt.
 */
export type NodeConfig = {
  /** Folder of the node's SQLite file (`node.db`) and everything else it keeps. */
  dataDir: string
  /** Path of the V3 keystore file (relative paths are taken from the config file's folder). */
  keystore: string
  chain: {
    rpcUrl: string
    chainId: number
    adjudicator: Address
    /** Blocks before the watcher acts on an event; default 0 on chain 31337, else 3. */
    confirmations?: number
    pollingIntervalMs?: number
    /**
     * How long one JSON-RPC request may take, in milliseconds (default 5,000); a failed one is tried
     * once more. The node's chain reachability is probed at `pollingIntervalMs`, bounded by this.
     */
    timeoutMs?: number
    /** The deployed app contracts by app name: a channel of an app names its contract here. */
    apps?: Record<AppName, Address>
  }
  broker: {
    url: string
    /** Default `chanvm-node-{address}` (a persistent session). */
    clientId?: string
    username?: string
    /** Name of the environment variable that holds the broker password. */
    passwordEnv?: string
  }
  http?: {
    /** Default 127.0.0.1. Any other address requires a token. */
    host?: string
    /** Default 7311; 0 picks a free port (the node prints and reports the one it took). */
    port?: number
    /** Name of the environment variable that holds the API token (default CHANVM_API_TOKEN). */
    tokenEnv?: string
  }
  /**
   * Users' apps: the paths of their manifests (relative paths from the config file's folder), each
   * naming its compiled artifact. They run beside the built-in apps; their contracts go in `chain.apps`.
   */
  apps?: string[]
  /** Devices and oracles whose signed messages this node accepts, and the topics they publish on. */
  inputs?: {
    topic: string
    signers: Hex[]
    /** Worker threads that check the topic's messages (1, the default: on the node's thread). */
    verifyThreads?: number
  }[]
  /** Wait for a peer's answer this long before a step is a `peer-timeout` (default 15,000 ms). */
  responseTimeoutMs?: number
  /**
   * How many peer messages may start in one window of about two event-loop turns (default 8): the
   * replies of one window leave while the next is handled (`PartyOptions.messagesPerTurn`).
   */
  messagesPerTurn?: number
  /** The least severe log line `chanvm node` writes: `debug`, `info` (default), `warn` or `error`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error'
}

/** A request to open a channel with one counterparty; both sides send the same request. */
export type OpenRequest = {
  app: AppName
  counterparty: Address
  /** This node's place: participant 0 (payer, buyer, owner) is `first`, participant 1 `second`. */
  role: 'first' | 'second'
  /** Initial balances of participant 0 and 1, in wei (decimal strings on the wire). */
  balances: [bigint, bigint]
  /** Makes the channel id unique between the same two parties; both sides pick the same. */
  nonce: bigint
  challengeDuration: bigint
  /** App terms (escrow: arbiter; tv-delivery: price, oracles, quorum, deadline, tracking id; cold-chain: policy). */
  terms: Record<string, string | number | boolean | string[]>
  /** Deposit this node's initial balance right after opening (default true). */
  deposit?: boolean
}

/**
 * An action of the channel's app, as the API and the commands take it: `type` (or `action`) names
 * it, and its arguments come in `args` or, as the built-in apps' actions always took them, as fields
 * beside `type` (`{ app: 'escrow', type: 'fund', amount, deadline }`). Values are JSON values
 * (integers as decimal strings on the wire) or bigints; the app checks them against its ABI types.
 */
export type AppAction = {
  /** The channel's app, when the sender says it (refused when it is not the channel's). */
  app?: AppName
  type?: string
  action?: string
  args?: Record<string, unknown>
  [field: string]: unknown
}

/**
 * A channel's one status, from what this node holds and what the Adjudicator records
 * ({@link channelStatus}): `opening` (version 0 not co-signed yet), `funding` (co-signed, deposits
 * not all confirmed), `open`, `proposing` (this node's step is in flight), `final` (the latest
 * co-signed state is final, not concluded on chain yet), `disputed` (the Adjudicator holds a state
 * and its dispute runs), `concluded` (paid out on chain; this node still has wei to withdraw),
 * `closed` (concluded and nothing is left for this node to withdraw), `cancelled` (an open that
 * never completed, cancelled with `cancelOpen`).
 */
export const CHANNEL_STATUSES = [
  'opening',
  'funding',
  'open',
  'proposing',
  'final',
  'disputed',
  'concluded',
  'closed',
  'cancelled',
] as const
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number]

/** One channel as `list` and `show` print it: both build it the same way, from the same reads. */
export type ChannelSummary = {
  channelId: Hex
  app: AppName
  /** The app's names for participant 0 and 1 (`payer`, `payee`), from its module. */
  roles?: [string, string]
  participants: Address[]
  /** This node's index among the participants. */
  me: number
  /** The channel's one status: what commands print and what a client should act on. */
  status: ChannelStatus
  /** The off-chain protocol's phase alone (the part of `status` that is not on chain). */
  phase: ChannelPhase
  version: bigint
  balances: bigint[]
  isFinal: boolean
  /** The Adjudicator's record, when the watcher has read one. */
  onChain?: {
    status: 'open' | 'dispute' | 'concluded'
    version: bigint
    baseVersion: bigint
    finalizesAt: bigint
    movesUntil: bigint
  }
  /**
   * How old the node's view of the chain is: the newest block it has seen and how long ago it last
   * heard from the chain (ms). When the chain does not answer, `onChain` is what the node knew then.
   */
  chainView?: { blockNumber: bigint; ageMs: number; reachable: boolean }
  /** Wei this node may withdraw from the Adjudicator (its credit from every concluded channel), once this one is concluded. */
  withdrawable?: bigint
}

/** What `chanvm dispute` shows before it acts: the two states, the gas, the payouts. */
export type DisputePlan = {
  channelId: Hex
  /** This node's participant index. */
  me?: number
  ours: { version: bigint; balances: bigint[]; isFinal: boolean; forced?: boolean }
  held?: {
    version: bigint
    baseVersion: bigint
    balances?: bigint[]
    status: string
    finalizesAt: bigint
    movesUntil?: bigint
    forced?: boolean
    holdings?: bigint
  }
  /** The next step this node would take, with its gas estimate and fee at today's gas price. */
  next:
    | {
        step: 'register' | 'force' | 'conclude' | 'conclude-final' | 'withdraw'
        gas: bigint
        feeWei: bigint
        /** What the step changes in this node's payout: payout after it minus payout if idle (withdraw: the credit). */
        gainWei?: bigint
        /** Version of the state the step puts or leaves on chain. */
        version?: bigint
        /** For `force`: the encoded action this node moves with. */
        action?: Hex
      }
    | { step: 'wait'; until: bigint; reason: string }
    | { step: 'none'; reason: string }
  /** What each participant is paid if the channel concludes on the state held after `next`. */
  payouts: bigint[]
  /** What each participant is paid if this node does nothing (zeros while nothing can be paid out). */
  payoutsIfIdle?: bigint[]
  /** Never spend more gas than the step can win: false when `feeWei` exceeds what it gains us. */
  worthIt: boolean
  /** Chain time (the head block's timestamp) the plan was made at. */
  now?: bigint
}

/** Something the node did or saw, on its event stream (SSE) and in its logs. */
export type NodeEvent =
  | { source: 'party'; channelId?: Hex; event: PartyEvent }
  | { source: 'watcher'; channelId?: Hex; event: WatcherEvent }
  | {
      source: 'input'
      verdict: string
      signer?: Hex
      topic?: string
      /** The refusal's one-line reason. */
      detail?: string
      kind?: 'reading' | 'answer'
      curve?: string
      publicKey?: Hex
      /** The signed message of an accepted input (a reading's device, sequence, timestamp, kind, value, unit). */
      message?: Record<string, unknown>
    }
  | { source: 'chain'; channelId: Hex; step: string; gasUsed: bigint; hash: Hex }
  | { source: 'node'; message: string }

/** An event with the id the node gave it: ids only grow, across restarts too. */
export type HeldEvent = { id: number; event: NodeEvent }

/**
 * What a client that last saw one event id gets back: the events after it, or, when the node no
 * longer holds them all (the id is older than the oldest held, e.g. from before a restart) or never
 * issued it, a gap with every event it does hold.
 */
export type EventReplay =
  | { gap: false; events: HeldEvent[] }
  | { gap: true; requested: number; oldest: number; latest: number; events: HeldEvent[] }

/** Counters the node exports as Prometheus metrics. */
export type NodeMetrics = {
  steps: number
  refusals: Record<string, number>
  readings: Record<string, number>
  disputes: number
  gasSpent: bigint
  channels: number
}

/** One external component the node needs, as the node sees it now. */
export type ComponentHealth = {
  up: boolean
  /** The endpoint, without credentials. */
  url: string
  /** When `up` last changed (or the node started), in ms since the epoch. */
  since: number
  /** Why it is down, when it is. */
  error?: string
}

/** What `GET /v1/ready` reports: ready when the broker and the chain both answer. */
export type NodeHealth = {
  ready: boolean
  broker: ComponentHealth
  chain: ComponentHealth & {
    /** The newest block the node has seen, and when it saw it (ms since the epoch). */
    head?: { blockNumber: bigint; seenAt: number }
  }
}

/** A running node: one party, its store, transport, watcher, chain client and input sources. */
export type ChanvmNode = {
  readonly address: Address
  /** The apps this node runs (built-in and configured); the API checks actions and opens against them. */
  readonly apps?: AppRegistry
  readonly party: Party
  open(request: OpenRequest): Promise<ChannelSummary>
  act(channelId: Hex, action: AppAction): Promise<UpdateResult>
  list(): Promise<ChannelSummary[]>
  show(channelId: Hex): Promise<ChannelSummary>
  /**
   * Cancels an open that never completed: only while version 0 is not co-signed and nothing is
   * deposited for the channel (else `CONFLICT`). The node then never deposits into it and refuses
   * to open it again; `list` leaves it out and `show` reports `cancelled`.
   */
  cancelOpen(channelId: Hex): Promise<ChannelSummary>
  disputePlan(channelId: Hex): Promise<DisputePlan>
  /** Takes the plan's `next` step on chain; refuses (typed error) a step that is not worth it unless `force`. */
  disputeStep(channelId: Hex, options?: { force?: boolean }): Promise<DisputePlan>
  /** Calls `listener` with every event and its id until the returned function is called. */
  onEvent(listener: (event: NodeEvent, id: number) => void): () => void
  /** The held events after `lastId`, or a gap (absent on test doubles). */
  eventsSince?(lastId: number): EventReplay
  metrics(): NodeMetrics
  /** What the dashboard reads: channel timelines, recent inputs, links to chain and broker (absent on test doubles). */
  readonly journal?: NodeJournalView
  /** Whether the broker and the chain answer (readiness), read without a network call. */
  health(): NodeHealth
  /** Finishes or abandons what is in flight, saves the watcher's place, closes everything. */
  close(): Promise<void>
}
