// What a node remembers for people to look at (the dashboard): the history of a channel's
// versions with who moved and at what gas, the inputs it took in or refused, the dispute steps it
// sent, and its links to the chain and the broker. Kept by node/createNodeJournal.ts.
import type { Address, Hex } from 'viem'

/**
 * An app's name, as commands, the API and `chain.apps` use it (the built-in apps' and the
 * configured ones'). Declared here and re-exported by types.ts, which imports this file's types.
 */
export type AppName = string

/** One version of a channel as the timeline shows it. */
export type TimelineEntry = {
  version: bigint
  /** What each participant gets if the channel closed on this version. */
  balances: bigint[]
  isFinal: boolean
  /** One signature per participant; empty for a state forced on chain. */
  signatures: Hex[]
  /** A state forced on chain (not co-signed) that this node adopted. */
  forced: boolean
  /** The participant who moved to this version (absent for the opening state and when unknown). */
  mover?: number
  /** The app action's name (`fund`, `report`, ...) and its calldata. */
  action?: { name: string; calldata: Hex }
  /** Gas the app's `transition` used in the sandbox for this step. */
  gasUsed?: bigint
  /** The chain time the step was evaluated at (the proposer's Env). */
  envTimestamp?: bigint
  /** When this node saw it co-signed (ms since the epoch); absent for versions from before the node started. */
  at?: number
}

/** A field of an app's state, as a person reads it. */
export type AppStateField = { name: string; label: string; value: string }

/** What an app says its latest state means. */
export type AppStateView = {
  app: AppName
  /** One line: "escrow of 0.1 ETH until …", "2 of 3 premiums paid, insured sum 1 ETH". */
  headline: string
  fields: AppStateField[]
  /** For apps fed by a device: its signer id and the allowed range of its readings (app units). */
  device?: { id: Hex; min: bigint; max: bigint; unit: string; runLength: number }
  /** For apps fed by oracle answers: the question and how many distinct oracles are needed. */
  oracles?: { questionId: Hex; signers: Hex[]; quorum: number }
}

/** A dispute step this node sent on chain (deposit, register, force, conclude, withdraw, refute). */
export type ChainStepEntry = {
  step: string
  gasUsed: bigint
  /** gasUsed × the transaction's effective gas price, once the receipt is read. */
  feeWei?: bigint
  hash: Hex
  at: number
}

/** Everything the channel page shows besides the summary and the dispute plan. */
export type ChannelTimeline = {
  channelId: Hex
  app: AppName
  participants: Address[]
  me: number
  challengeDuration: bigint
  /** Oldest first; at most the last `maxVersions`. */
  versions: TimelineEntry[]
  /** Versions older than the first entry that are not listed. */
  omitted: bigint
  state: AppStateView
  chainSteps: ChainStepEntry[]
}

/** One input the node took in or refused, newest last. */
export type InputEntry = {
  /** Local time it arrived (ms since the epoch). */
  at: number
  accepted: boolean
  /** `accepted`, or why it was refused (`bad-signature`, `stale`, `unknown-signer`, ...). */
  verdict: string
  /** The refusal's one-line reason. */
  detail?: string
  kind?: 'reading' | 'answer'
  /** The signer's bytes32 id (accepted inputs), or the one the topic names (refused ones). */
  signer?: Hex
  topic?: string
  curve?: string
  /** The P-256 public key of a secure-element device. */
  publicKey?: Hex
  /** The signed message (readings: device, sequence, timestamp, kind, value, unit). */
  message?: Record<string, unknown>
}

/** The node's links to the outside, for its health panel. */
export type NodeHealth = {
  chain: {
    chainId: number
    rpcUrl: string
    ok: boolean
    /** The head block when it was read just now. */
    blockNumber?: bigint
    timestamp?: bigint
    error?: string
  }
  broker: { url: string; connected: boolean }
  startedAt: number
}

/** What the dashboard reads beyond the channel summaries and dispute plans. */
export type NodeJournalView = {
  timeline(channelId: Hex): Promise<ChannelTimeline>
  inputs(): InputEntry[]
  health(): Promise<NodeHealth>
}
