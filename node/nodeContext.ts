// The options of createNode, and what it gives the parts of a node (connectChain.ts, nodeHealth.ts,
// nodeWatch.ts, nodeInputs.ts, nodeQueries.ts, nodeActions.ts, nodeDispute.ts): each part takes the
// fields it names from NodeContext, never module-level state.
import type { Hex } from 'viem'
import type { AdjudicatorClient } from '../engine/adjudicator/createAdjudicatorClient.ts'
import type { ChannelParams } from '../engine/channel/types.ts'
import type { Signer } from '../engine/crypto/types.ts'
import type { ChanvmError } from '../engine/errors.ts'
import type { ChannelRecord, ChannelStore } from '../engine/store/types.ts'
import type { Party, PartyOptions } from '../engine/protocol/types.ts'
import type { Sandbox } from '../engine/sandbox/createSandbox.ts'
import type { PeerTransport } from '../engine/transport/types.ts'
import type { Watcher } from '../engine/watcher/createWatcher.ts'
import type { MqttTransport } from '../oracles/mqtt/createMqttTransport.ts'
import type { AppRegistry } from '../apps/module/createAppRegistry.ts'
import type { HeadClock } from './createHeadClock.ts'
import type { InputBook } from './createInputBook.ts'
import type { NodeJournal } from './createNodeJournal.ts'
import type {
  ChannelSummary,
  ComponentHealth,
  NodeConfig,
  NodeEvent,
  NodeHealth,
  NodeMetrics,
} from './types.ts'

/** Options of `createNode` (node/createNode.ts). */
export type CreateNodeOptions = {
  config: NodeConfig
  /** Signs states, proposals and transactions; its address is this node's participant address. */
  signer: Signer
  /** Where `broker.passwordEnv` is read. Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** The peer transport. Default: MQTT on `config.broker` with a persistent session. */
  transport?: PeerTransport
  /** Default: a sandbox of its own. */
  sandbox?: Sandbox
  /** This node's signing policy for its peers' proposals (the party's `approve`). Default: sign every valid step. */
  approve?: PartyOptions['approve']
  /** How long `open` waits for every participant's deposit. Default 600,000 ms. */
  fundingTimeoutMs?: number
  /** How often the watcher's place is saved. Default: the watcher's polling interval. */
  checkpointIntervalMs?: number
  /** A listener attached before anything starts, so it hears what the first poll finds. */
  onEvent?: (event: NodeEvent, id: number) => void
  /**
   * Called once when the node cannot go on safely (`CLIENT_ID_TAKEN_OVER`: another process holds
   * its MQTT client id, so possibly its key). The node has stopped its transport; the caller
   * closes it and exits. Default: the error is logged and the node closes itself.
   */
  onFatal?: (error: ChanvmError) => void
  /** Where outages and recoveries of the broker and the chain are reported. Default: nowhere. */
  log?: NodeLog
}

/** A log line of the node: level, message, fields (the daemon writes them as JSON lines). */
export type NodeLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields: Record<string, unknown>,
) => void

/** The node's counters, which `metrics()` copies: the metrics it exports, kept as they change. */
export type NodeCounters = NodeMetrics

/** Everything createNode composes and shares with its parts. */
export type NodeContext = {
  config: NodeConfig
  signer: Signer
  address: Signer['address']
  chainId: number
  client: AdjudicatorClient
  store: ChannelStore
  sandbox: Sandbox
  transport: PeerTransport
  party: Party
  watcher: Watcher
  registry: AppRegistry
  appOf: (params: ChannelParams) => ReturnType<AppRegistry['byCodeHash']>
  book: InputBook
  journal: NodeJournal
  head: HeadClock
  /** The opens cancelled with `cancelOpen` (lower-case ids) and the file that keeps them. */
  cancelled: Set<string>
  cancelledPath: string
  log: NodeLog
  emit: (event: NodeEvent) => void
  note: (message: string) => void
  counters: NodeCounters
  bump: (m: Record<string, number>, k: string) => number
  /** The channels the watcher saw a dispute registered for and not yet concluded. */
  inDispute: Set<string>
  depositWaiters: Map<string, Set<() => void>>
  /** This node's last step a peer refused or left unanswered, per channel: what a dispute forces. */
  unsigned: Map<string, Hex>
  /** Where a part that must be undone if a later part fails to start pushes its closer. */
  closers: (() => Promise<void>)[]
  /** True once `close` was called. */
  isClosing: () => boolean
  /** Throws `TRANSPORT_CLOSED` once the node is closing. */
  ensureOpen: () => void
  fatal: (error: ChanvmError) => void
  rpcUrl: string
  brokerUrl: string
  clientId: string
  broker: { username?: string; password?: string }
  chainTimeoutMs: number
  pollingIntervalMs: number
  fundingTimeoutMs: number
  checkpointIntervalMs: number
  brokerHealth: ComponentHealth
  chainHealth: NodeHealth['chain']
  setUp: (h: ComponentHealth, up: boolean, error?: string) => boolean
  statusSource: MqttTransport['onStatus'] | undefined
  chainCall: <T>(p: Promise<T>, what: string, ms?: number) => Promise<T>
  chainView: (reachable: boolean) => ChannelSummary['chainView']
  confirmFunding: (channelId: Hex, params: ChannelParams) => Promise<boolean>
  phaseOf: (channelId: Hex) => ReturnType<Party['phase']> | undefined
  recordOf: (channelId: Hex) => Promise<ChannelRecord>
  summarize: (channelId: Hex, credit?: (ms: number) => Promise<bigint>) => Promise<ChannelSummary>
}
