// The node's journal: bounded in-memory rings of what happened (who moved, at what gas, which
// inputs came in or were refused, which dispute steps were sent), joined with what the SQLite
// store already keeps (every co-signed version, and the peer proposals this node signed), for
// people to look at. It decides nothing.
import type { Hex } from 'viem'
import type { Env, State } from '../engine/channel/types.ts'
import { runTransition } from '../engine/sandbox/runTransition.ts'
import type { Sandbox } from '../engine/sandbox/createSandbox.ts'
import type { ChannelRecord, ChannelStore } from '../engine/store/types.ts'
import { actionName, describeAppState } from './describeAppState.ts'
import type {
  ChainStepEntry,
  ChannelTimeline,
  InputEntry,
  NodeHealth,
  TimelineEntry,
} from './journalTypes.ts'
import { BUILT_IN_REGISTRY } from '../apps/builtInRegistry.ts'
import type { AppRegistry } from '../apps/module/createAppRegistry.ts'
import type { NodeEvent } from './types.ts'

/** Options of {@link createNodeJournal}. */
export type NodeJournalOptions = {
  store: ChannelStore
  /** The apps the node runs (states are described and actions named by them). Default the built-in ones. */
  registry?: AppRegistry
  /** Re-runs a step whose gas the journal did not see (a peer's step signed before a restart). */
  sandbox: Sandbox
  chain: { chainId: number; rpcUrl: string }
  broker: { url: string }
  /** Reads the chain head. */
  head(): Promise<{ blockNumber: bigint; timestamp: bigint }>
  /** The effective gas price of a mined transaction, for the fee of a dispute step. */
  gasPrice?(hash: Hex): Promise<bigint>
  /** Inputs kept (the oldest goes first). Default 2,000. */
  maxInputs?: number
  /** Step notes and chain steps kept per channel. Default 1,000. */
  maxNotesPerChannel?: number
  /** Versions a timeline lists (the newest). Default 200. */
  maxVersions?: number
}

/** What the journal knows about one step beyond the stored state. */
type StepNote = {
  mover?: number
  calldata?: Hex
  gasUsed?: bigint
  env?: Env
  at?: number
  /** A state forced on chain, as the watcher read it (the store keeps only the latest one). */
  forcedState?: State
}

/** The node's journal: fed with its events and own steps, read by the API. */
export type NodeJournal = {
  /** Takes in one of the node's events. */
  record(event: NodeEvent): void
  /** Notes a step this node moved (its calldata and sandbox gas), once co-signed. */
  noteOwnStep(channelId: Hex, step: { version: bigint; mover: number; calldata: Hex; gasUsed: bigint }): void
  /** Notes whether the peer transport is connected. */
  brokerStatus(connected: boolean): void
  timeline(record: ChannelRecord): Promise<ChannelTimeline>
  inputs(): InputEntry[]
  health(): Promise<NodeHealth>
}

const SIGNER_TOPIC = /^chanvm\/v1\/(?:devices|oracles)\/(0x[0-9a-f]{64})\//

/**
 * Creates a journal. Memory is bounded: `maxInputs` inputs, `maxNotesPerChannel` notes per
 * channel; a timeline lists at most `maxVersions` versions, read from the store.
 *
 * @example
 * ```ts
 * const journal = createNodeJournal({ store, sandbox, chain, broker, head })
 * node.onEvent((e) => journal.record(e))
 * const timeline = await journal.timeline(await store.getChannel(channelId))
 * ```
 */
export function createNodeJournal(options: NodeJournalOptions): NodeJournal {
  const maxInputs = options.maxInputs ?? 2_000
  const maxNotes = options.maxNotesPerChannel ?? 1_000
  const maxVersions = BigInt(options.maxVersions ?? 200)
  const registry = options.registry ?? BUILT_IN_REGISTRY
  const startedAt = Date.now()
  const inputs: InputEntry[] = []
  const notes = new Map<string, Map<bigint, StepNote>>()
  const chainSteps = new Map<string, ChainStepEntry[]>()
  let connected = true

  const notesOf = (channelId: Hex): Map<bigint, StepNote> => {
    const k = channelId.toLowerCase()
    let m = notes.get(k)
    if (m === undefined) {
      m = new Map()
      notes.set(k, m)
    }
    return m
  }
  const note = (channelId: Hex, version: bigint, add: StepNote) => {
    const m = notesOf(channelId)
    m.set(version, { ...m.get(version), ...add })
    if (m.size > maxNotes) {
      const oldest = m.keys().next().value
      if (oldest !== undefined) m.delete(oldest)
    }
  }

  const recordChainStep = (channelId: Hex, entry: ChainStepEntry) => {
    const k = channelId.toLowerCase()
    const list = chainSteps.get(k) ?? []
    list.push(entry)
    if (list.length > maxNotes) list.shift()
    chainSteps.set(k, list)
    options
      .gasPrice?.(entry.hash)
      .then((price) => (entry.feeWei = price * entry.gasUsed))
      .catch(() => undefined)
  }

  const recordInput = (e: Extract<NodeEvent, { source: 'input' }>) => {
    const accepted = e.verdict === 'accepted'
    const signer = e.signer ?? (e.topic === undefined ? undefined : SIGNER_TOPIC.exec(e.topic)?.[1])
    inputs.push({
      at: Date.now(),
      accepted,
      verdict: e.verdict,
      ...(e.detail === undefined ? {} : { detail: e.detail }),
      ...(e.kind === undefined ? {} : { kind: e.kind }),
      ...(signer === undefined ? {} : { signer: signer as Hex }),
      ...(e.topic === undefined ? {} : { topic: e.topic }),
      ...(e.curve === undefined ? {} : { curve: e.curve }),
      ...(e.publicKey === undefined ? {} : { publicKey: e.publicKey }),
      ...(e.message === undefined ? {} : { message: e.message }),
    })
    if (inputs.length > maxInputs) inputs.splice(0, inputs.length - maxInputs)
  }

  /** Sandbox gas of a step the journal did not see run, re-run from the stored states. */
  const gasCache = new Map<string, bigint>()
  const rerunGas = async (
    record: ChannelRecord,
    from: State,
    step: { mover: number; calldata: Hex; env: { blockNumber: bigint; timestamp: bigint } },
  ): Promise<bigint | undefined> => {
    const key = `${record.channelId.toLowerCase()}:${from.version}`
    const cached = gasCache.get(key)
    if (cached !== undefined) return cached
    const app = registry.byCodeHash(record.params.appCodeHash)
    if (app === undefined) return undefined
    const code = { code: app.artifact.deployedBytecode, abi: app.artifact.abi }
    const r = await runTransition(options.sandbox, {
      params: record.params,
      from,
      mover: BigInt(step.mover),
      action: step.calldata,
      env: step.env,
      appCode: code.code,
      ...(code.abi === undefined ? {} : { appAbi: code.abi }),
    })
    gasCache.set(key, r.gasUsed)
    return r.gasUsed
  }

  return {
    record(event) {
      switch (event.source) {
        case 'input':
          recordInput(event)
          return
        case 'chain':
          recordChainStep(event.channelId, {
            step: event.step,
            gasUsed: event.gasUsed,
            hash: event.hash,
            at: Date.now(),
          })
          return
        case 'party': {
          const e = event.event
          if (e.type === 'proposed') note(e.channelId, e.version, { mover: e.mover })
          else if (e.type === 'committed') {
            const held = notesOf(e.channelId).get(e.state.version)
            if (held?.at === undefined) note(e.channelId, e.state.version, { at: Date.now() })
          } else if (e.type === 'adopted') note(e.channelId, e.state.version, { at: Date.now() })
          return
        }
        case 'watcher': {
          const e = event.event
          if (e.type === 'progressed')
            note(e.channelId, e.state.version, {
              mover: Number(e.mover),
              calldata: e.action,
              env: e.env,
              forcedState: e.state,
            })
          return
        }
        default:
          return
      }
    },
    noteOwnStep(channelId, step) {
      note(channelId, step.version, { mover: step.mover, calldata: step.calldata, gasUsed: step.gasUsed })
    },
    brokerStatus(value) {
      connected = value
    },
    async timeline(record) {
      const { store } = options
      const id = record.channelId
      const module = registry.byCodeHash(record.params.appCodeHash)
      const app = module?.name ?? 'unknown'
      const latest = await store.getLatestSignedState(id)
      const forced = await store.getLatestForcedState(id)
      const top =
        forced !== undefined && (latest === undefined || forced.version > latest.state.version)
          ? forced.version
          : (latest?.state.version ?? -1n)
      const first = top - maxVersions + 1n > 0n ? top - maxVersions + 1n : 0n
      const known = notesOf(id)
      const versions: TimelineEntry[] = []
      let previous: State | undefined =
        first > 0n ? (await store.getSignedState(id, first - 1n))?.state : undefined
      for (let v = first; v <= top; v++) {
        const signed = await store.getSignedState(id, v)
        const n = known.get(v) ?? {}
        const state = signed?.state ?? (forced?.version === v ? forced : n.forcedState)
        if (state === undefined) {
          previous = undefined
          continue
        }
        const proposal = (await store.getSignatureRecord(id, v))?.proposal
        const mover = n.mover ?? proposal?.mover
        const calldata = n.calldata ?? proposal?.action
        const env = n.env ?? proposal?.env
        let gasUsed = n.gasUsed
        if (
          gasUsed === undefined &&
          previous !== undefined &&
          mover !== undefined &&
          calldata !== undefined &&
          env !== undefined
        ) {
          gasUsed = await rerunGas(record, previous, { mover, calldata, env }).catch(() => undefined)
        }
        const name =
          calldata === undefined ? undefined : module === undefined ? undefined : actionName(module, calldata)
        versions.push({
          version: v,
          balances: [...state.balances],
          isFinal: state.isFinal,
          signatures: [...(signed?.signatures ?? [])],
          forced: signed === undefined,
          ...(v === 0n || mover === undefined ? {} : { mover }),
          ...(calldata === undefined || name === undefined ? {} : { action: { name, calldata } }),
          ...(gasUsed === undefined ? {} : { gasUsed }),
          ...(env === undefined ? {} : { envTimestamp: env.timestamp }),
          ...(n.at === undefined ? {} : { at: n.at }),
        })
        previous = state
      }
      const newest = forced !== undefined && forced.version === top ? forced : latest?.state
      return {
        channelId: id,
        app,
        participants: [...record.params.participants],
        me: record.myIndex,
        challengeDuration: record.params.challengeDuration,
        versions,
        omitted: first,
        state:
          newest === undefined
            ? { app, headline: 'no co-signed state yet', fields: [] }
            : module === undefined
              ? { app, headline: 'an app this node does not run', fields: [] }
              : describeAppState(module, newest.appData),
        chainSteps: [...(chainSteps.get(id.toLowerCase()) ?? [])],
      }
    },
    inputs() {
      return [...inputs]
    },
    async health() {
      const chain: NodeHealth['chain'] = { ...options.chain, ok: false }
      try {
        const h = await options.head()
        chain.ok = true
        chain.blockNumber = h.blockNumber
        chain.timestamp = h.timestamp
      } catch (e) {
        chain.error = e instanceof Error ? (e.message.split('\n')[0] ?? 'unreachable') : String(e)
      }
      return { chain, broker: { url: options.broker.url, connected }, startedAt }
    },
  }
}
