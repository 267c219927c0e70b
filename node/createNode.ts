// The composition root of a chanvm node: one party with its SQLite store, sandbox, apps, MQTT
// peer transport, Adjudicator client (signing through the Signer port), watcher (its place kept
// across restarts) and input sources, behind the ChanvmNode shape of node/types.ts.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Hex } from 'viem'
import type { ChannelParams } from '../engine/channel/types.ts'
import { createCryptoPool } from '../engine/crypto/createCryptoPool.ts'
import { ChanvmError } from '../engine/errors.ts'
import { cryptoThreadsOf } from './cryptoThreadsOf.ts'
import { createParty } from '../engine/protocol/createParty.ts'
import type { PartyEvent } from '../engine/protocol/types.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { createMqttTransport, type MqttTransport } from '../oracles/mqtt/createMqttTransport.ts'
import { connectChain } from './connectChain.ts'
import { lockDataDir } from './lockDataDir.ts'
import { openEventLog, type EventLog } from './openEventLog.ts'
import { readCancelledOpens } from './cancelledOpensFile.ts'
import { createInputBook } from './createInputBook.ts'
import { createNodeJournal, type NodeJournal } from './createNodeJournal.ts'
import { redactUrl, urlOrigin } from './nodeUrls.ts'
import { BUILT_IN_APPS } from '../apps/builtInApps.ts'
import { createAppRegistry } from '../apps/module/createAppRegistry.ts'
import { loadAppModule } from '../apps/module/loadAppModule.ts'
import type { CreateNodeOptions, NodeLog } from './nodeContext.ts'
import { createNodeActions, type NodeActionsContext } from './nodeActions.ts'
import { createNodeDispute, type NodeDisputeContext } from './nodeDispute.ts'
import { startHealth } from './nodeHealth.ts'
import { startInputSources } from './nodeInputs.ts'
import { createNodeQueries } from './nodeQueries.ts'
import { startWatch } from './nodeWatch.ts'
import type { ChanvmNode, NodeConfig, NodeEvent } from './types.ts'

/** The file in `dataDir` where the watcher's place is kept. */
export const WATCHER_CHECKPOINT_FILE = 'watcher-checkpoint.json'
/** The file in `dataDir` where verified readings and answers are kept for `report` and `claim`. */
export const INPUTS_FILE = 'inputs.jsonl'
/** The file in `dataDir` that lists the opens cancelled with `cancelOpen`. */
export const CANCELLED_OPENS_FILE = 'cancelled-opens.json'

export type { CreateNodeOptions, NodeLog } from './nodeContext.ts'
export { redactUrl } from './nodeUrls.ts'

const CLOSE_STEP_MS = 10_000
/** Resolves with `p`, or after `ms` with undefined (reported through `onLate`). */
async function bounded<T>(p: Promise<T>, ms: number, onLate: () => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      onLate()
      resolve(undefined)
    }, ms)
  })
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Starts a node: the SQLite store in `dataDir/node.db`, a sandbox, the three apps, the MQTT peer
 * transport (persistent session), an Adjudicator client whose transactions `signer` signs, the
 * watcher (forced chains adopted through the party, stale states refuted on its own, its place
 * saved in `dataDir` and resumed on start, every stored channel watched again) and one input
 * source per `config.inputs` entry, whose verified readings and answers feed `claim` and
 * `report`. A part that fails to start closes what started before it.
 *
 * A step that ends in `peer-timeout` is reported (a `node` event), never taken to chain on its
 * own: `disputePlan` and `disputeStep` are the way there.
 *
 * @example
 * ```ts
 * const config = await loadNodeConfig('node.json')
 * const node = await createNode({ config, signer: await readKeystore(config.keystore, await passphraseFromEnvOrPrompt()) })
 * const channel = await node.open({ app: 'escrow', counterparty, role: 'first', balances: [10n ** 18n, 0n],
 *   nonce: 1n, challengeDuration: 3_600n, terms: { arbiter } })
 * await node.act(channel.channelId, { app: 'escrow', type: 'fund', amount: 10n ** 17n, deadline })
 * await node.close()
 * ```
 */
export async function createNode(options: CreateNodeOptions): Promise<ChanvmNode> {
  const { config, signer } = options
  const env = options.env ?? process.env
  const address = signer.address
  const chainId = config.chain.chainId
  const scope = { chainId, adjudicator: config.chain.adjudicator }
  const checkpointPath = join(config.dataDir, WATCHER_CHECKPOINT_FILE)
  const pollingIntervalMs = config.chain.pollingIntervalMs ?? 1_000
  const fundingTimeoutMs = options.fundingTimeoutMs ?? 600_000

  const listeners = new Set<(event: NodeEvent, id: number) => void>()
  if (options.onEvent !== undefined) listeners.add(options.onEvent)
  let journal: NodeJournal | undefined
  let eventLog: EventLog | undefined
  const emit = (event: NodeEvent) => {
    journal?.record(event)
    const id = eventLog?.append(event) ?? 0
    for (const l of [...listeners]) {
      try {
        l(event, id)
      } catch {
        // a listener's failure is its own
      }
    }
  }
  const note = (message: string) => emit({ source: 'node', message })
  const counters = {
    steps: 0,
    refusals: {} as Record<string, number>,
    readings: {} as Record<string, number>,
    disputes: 0,
    gasSpent: 0n,
    channels: 0,
  }
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1)
  const inDispute = new Set<string>()
  const depositWaiters = new Map<string, Set<() => void>>()

  const closers: (() => Promise<void>)[] = []
  const abort = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined)
  }
  const log: NodeLog = options.log ?? (() => undefined)
  const rpcUrl = redactUrl(config.chain.rpcUrl)
  const brokerUrl = redactUrl(config.broker.url)
  const chainTimeoutMs = config.chain.timeoutMs ?? 5_000
  // The apps this node runs: the built-in ones and the users' the configuration adds (a bad
  // manifest or artifact stops the node here, before anything starts).
  const registry = createAppRegistry([...BUILT_IN_APPS, ...(config.apps ?? []).map(loadAppModule)])
  const appOf = (params: ChannelParams) => registry.byCodeHash(params.appCodeHash)
  try {
    const password = passwordOf(config, env)
    const cryptoThreads = cryptoThreadsOf(env)
    const broker = {
      ...(config.broker.username === undefined ? {} : { username: config.broker.username }),
      ...(password === undefined ? {} : { password }),
    }
    const clientId = config.broker.clientId ?? `chanvm-node-${address.toLowerCase()}`
    const client = await connectChain({ config, signer, chainId, chainTimeoutMs, rpcUrl, registry })
    try {
      mkdirSync(config.dataDir, { recursive: true })
    } catch (cause) {
      throw new ChanvmError('CONFIG', `cannot create the data folder ${config.dataDir}`, { cause })
    }
    // One node per data folder (and so per key and store): taken before anything in it is written,
    // let go last.
    const lock = lockDataDir(config.dataDir)
    closers.push(async () => lock.release())
    // Event ids are reserved in the data folder before any event is emitted.
    const events = openEventLog({ dataDir: config.dataDir })
    eventLog = events
    closers.push(() => events.close())
    const book = createInputBook({ path: join(config.dataDir, INPUTS_FILE) })
    const cancelledPath = join(config.dataDir, CANCELLED_OPENS_FILE)
    const cancelled = readCancelledOpens(cancelledPath)
    const store = createSqliteStore({ path: join(config.dataDir, 'node.db'), exclusive: true })
    closers.push(() => store.close())
    const sandbox = options.sandbox ?? (await createSandbox())
    const transport =
      options.transport ??
      (await createMqttTransport({
        url: config.broker.url,
        self: address,
        clientId,
        clean: false,
        ...broker,
      }))
    closers.push(() => transport.close())

    // Readiness: the broker as the transport reports it, the chain as a bounded probe finds it.
    let closing: Promise<void> | undefined
    let fatalError: ChanvmError | undefined
    const started: { node?: ChanvmNode } = {}
    const isClosing = () => closing !== undefined
    const fatal = (error: ChanvmError) => {
      if (fatalError !== undefined || closing !== undefined) return
      fatalError = error
      log('error', error.shortMessage, { code: error.code, clientId, url: brokerUrl })
      if (started.node === undefined) return // createNode throws it below
      if (options.onFatal !== undefined) options.onFatal(error)
      else void started.node.close()
    }
    const readiness = await startHealth({
      client,
      rpcUrl,
      brokerUrl,
      clientId,
      chainTimeoutMs,
      pollingIntervalMs,
      transport,
      log,
      isClosing,
      isFailed: () => fatalError !== undefined,
      fatal,
      closers,
    })
    const { readHead, head, probeTimer } = readiness

    const clock = () => head.now()
    journal = createNodeJournal({
      store,
      registry,
      sandbox,
      chain: { chainId, rpcUrl: urlOrigin(config.chain.rpcUrl) },
      broker: { url: urlOrigin(config.broker.url) },
      head: readHead,
      gasPrice: async (hash) => (await client.publicClient.getTransactionReceipt({ hash })).effectiveGasPrice,
    })
    if ('onStatus' in transport && typeof transport.onStatus === 'function') {
      const j = journal
      ;(transport as MqttTransport).onStatus((status) => j.brokerStatus(status === 'subscribed'))
    }

    const onPartyEvent = (e: PartyEvent) => {
      if (e.type === 'committed') counters.steps++
      else if (e.type === 'refused') bump(counters.refusals, e.reason)
      else if (e.type === 'peer-refused') bump(counters.refusals, `peer-${e.reason}`)
      emit({ source: 'party', ...('channelId' in e ? { channelId: e.channelId } : {}), event: e })
    }
    // Signatures and recoveries on a thread while the node's thread handles other channels
    // (engine/crypto/createCryptoPool.ts), when CHANVM_CRYPTO_THREADS asks for some.
    const cryptoPool =
      cryptoThreads > 0
        ? createCryptoPool({
            threads: cryptoThreads,
            onFailure: (message) => note(`crypto pool: ${message}`),
          })
        : undefined
    if (cryptoPool !== undefined) closers.push(() => cryptoPool.close())
    const party = await createParty({
      signer,
      transport,
      store,
      sandbox,
      apps: registry.list.map((a) => ({ code: a.artifact.deployedBytecode, abi: a.artifact.abi })),
      clock,
      freshClock: () => head.refresh(),
      responseTimeoutMs: config.responseTimeoutMs ?? 15_000,
      ...(config.messagesPerTurn === undefined ? {} : { messagesPerTurn: config.messagesPerTurn }),
      onEvent: onPartyEvent,
      ...(options.approve === undefined ? {} : { approve: options.approve }),
      ...(cryptoPool === undefined ? {} : { cryptoPool }),
    })
    closers.push(() => party.close())

    // The watcher, its place kept in the data folder, and the start-up re-sync.
    const { watcher, saveCheckpoint, timer, confirmFunding, phaseOf } = await startWatch({
      config,
      client,
      store,
      signer,
      party,
      pollingIntervalMs,
      checkpointIntervalMs: options.checkpointIntervalMs ?? pollingIntervalMs,
      note,
      emit,
      counters,
      inDispute,
      depositWaiters,
      closers,
      checkpointPath,
      scope,
    })
    const sources = await startInputSources({
      config,
      chainId,
      clientId,
      broker,
      book,
      counters,
      bump,
      emit,
      closers,
    })

    const ensureOpen = () => {
      if (closing !== undefined) throw new ChanvmError('TRANSPORT_CLOSED', 'the node is closed')
    }
    /** This node's last step a peer refused or left unanswered, per channel: what a dispute forces. */
    const unsigned = new Map<string, Hex>()

    // The parts of the node's methods, each taking what it needs of this context.
    const shared = {
      config,
      address,
      chainId,
      signer,
      client,
      store,
      sandbox,
      party,
      watcher,
      registry,
      appOf,
      book,
      journal,
      cancelled,
      cancelledPath,
      log,
      emit,
      note,
      counters,
      depositWaiters,
      unsigned,
      isClosing,
      ensureOpen,
      rpcUrl,
      brokerUrl,
      // The chain view, the head clock and the broker's and chain's health.
      ...readiness,
      chainTimeoutMs,
      pollingIntervalMs,
      fundingTimeoutMs,
      confirmFunding,
      phaseOf,
    }
    const { recordOf, summarize, ...queries } = createNodeQueries(shared)
    const parts: NodeActionsContext & NodeDisputeContext = { ...shared, recordOf, summarize }
    const actions = createNodeActions(parts)
    const dispute = createNodeDispute(parts)
    const node: ChanvmNode = {
      address,
      apps: registry,
      party,
      journal: queries.journal,
      open: actions.open,
      cancelOpen: actions.cancelOpen,
      act: actions.act,
      list: queries.list,
      show: queries.show,
      disputePlan: dispute.disputePlan,
      disputeStep: dispute.disputeStep,
      onEvent(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      eventsSince(lastId) {
        return eventLog?.since(lastId) ?? { gap: false, events: [] }
      },
      health: readiness.health,
      metrics: queries.metrics,
      close() {
        closing ??= (async () => {
          clearInterval(timer)
          clearInterval(probeTimer)
          const late = (what: string) => () => note(`${what} did not finish within ${CLOSE_STEP_MS} ms`)
          await bounded(party.close(), CLOSE_STEP_MS, late('the party'))
          await bounded(watcher.stop(), CLOSE_STEP_MS, late('the watcher'))
          saveCheckpoint()
          for (const s of sources) await bounded(s.close(), CLOSE_STEP_MS, late('an input source'))
          await bounded(transport.close(), CLOSE_STEP_MS, late('the transport'))
          await store.close()
          await bounded(events.close(), CLOSE_STEP_MS, late('the event log'))
          lock.release()
          for (const set of depositWaiters.values()) for (const wake of set) wake()
          listeners.clear()
        })()
        return closing
      },
    }
    started.node = node
    if (fatalError !== undefined) throw fatalError
    return node
  } catch (e) {
    await abort()
    throw e
  }
}

/** The broker password from the variable `broker.passwordEnv` names; a named variable that is unset is `CONFIG`. */
function passwordOf(config: NodeConfig, env: NodeJS.ProcessEnv): string | undefined {
  const name = config.broker.passwordEnv
  if (name === undefined) return undefined
  const value = env[name]
  if (value === undefined || value === '')
    throw new ChanvmError('CONFIG', `broker.passwordEnv names ${name}, which is not set`)
  return value
}
