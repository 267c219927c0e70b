// The composition root of a chanvm node: one party with its SQLite store, sandbox, apps, MQTT
// peer transport, Adjudicator client (signing through the Signer port), watcher (its place kept
// across restarts) and input sources, behind the ChanvmNode shape of node/types.ts.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Hex } from 'viem'
import {
  createAdjudicatorClient,
  type AdjudicatorClient,
} from '../engine/adjudicator/createAdjudicatorClient.ts'
import { deposit } from '../engine/adjudicator/deposit.ts'
import { getChannelRecord } from '../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../engine/adjudicator/getDeposits.ts'
import { getWithdrawable } from '../engine/adjudicator/getWithdrawable.ts'
import type { ChannelParams, Env, State } from '../engine/channel/types.ts'
import type { Signer } from '../engine/crypto/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import { createParty } from '../engine/protocol/createParty.ts'
import type { PartyEvent, PartyOptions } from '../engine/protocol/types.ts'
import { createSandbox, type Sandbox } from '../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import type { PeerTransport } from '../engine/transport/types.ts'
import { createWatcher } from '../engine/watcher/createWatcher.ts'
import type { WatcherEvent } from '../engine/watcher/types.ts'
import { createMqttInputSource, type MqttInputSource } from '../oracles/mqtt/createMqttInputSource.ts'
import { createMqttTransport, type MqttTransport } from '../oracles/mqtt/createMqttTransport.ts'
import { actionToCalldata } from './actionToCalldata.ts'
import { checkDeployment } from './checkDeployment.ts'
import { lockDataDir } from './lockDataDir.ts'
import { openEventLog, type EventLog } from './openEventLog.ts'
import { readCancelledOpens, writeCancelledOpens } from './cancelledOpensFile.ts'
import { channelStatus } from './channelStatus.ts'
import { createInputBook } from './createInputBook.ts'
import { createHeadClock } from './createHeadClock.ts'
import { createNodeJournal, type NodeJournal } from './createNodeJournal.ts'
import { signerToAccount } from './signerToAccount.ts'
import { planDispute, takeDisputeStep, type DisputeDeps } from './dispute.ts'
import { openRequestDifferences } from './openRequestDifferences.ts'
import { requestToChannel } from './requestToChannel.ts'
import { BUILT_IN_APPS } from '../apps/builtInApps.ts'
import { createAppRegistry } from '../apps/module/createAppRegistry.ts'
import { loadAppModule } from '../apps/module/loadAppModule.ts'
import { keccak256 } from 'viem'
import type {
  ChannelSummary,
  ChanvmNode,
  ComponentHealth,
  NodeConfig,
  NodeEvent,
  NodeHealth,
  NodeMetrics,
  OpenRequest,
} from './types.ts'
import { readWatcherCheckpoint, writeWatcherCheckpoint } from './watcherCheckpointFile.ts'

/** The file in `dataDir` where the watcher's place is kept. */
export const WATCHER_CHECKPOINT_FILE = 'watcher-checkpoint.json'
/** The file in `dataDir` where verified readings and answers are kept for `report` and `claim`. */
export const INPUTS_FILE = 'inputs.jsonl'
/** The file in `dataDir` that lists the opens cancelled with `cancelOpen`. */
export const CANCELLED_OPENS_FILE = 'cancelled-opens.json'

/** Options of {@link createNode}. */
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

/** A URL without its user and password, for logs and health reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.username === '' && u.password === '') return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/
const CLOSE_STEP_MS = 10_000
/** The longest a read (`show`) waits for the chain before it answers from what the node knows. */
const LIVE_READ_MS = 2_000
/** How many channel records `list` reads from the chain at once. */
const LIST_READS_AT_ONCE = 16

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
    const broker = {
      ...(config.broker.username === undefined ? {} : { username: config.broker.username }),
      ...(password === undefined ? {} : { password }),
    }
    const clientId = config.broker.clientId ?? `chanvm-node-${address.toLowerCase()}`
    // The key stays inside the signer: transactions are signed through it.
    const client: AdjudicatorClient = await createAdjudicatorClient({
      rpcUrl: config.chain.rpcUrl,
      address: config.chain.adjudicator,
      account: (nonceManager) => signerToAccount(signer, { nonceManager }),
      chainId,
      timeoutMs: chainTimeoutMs,
      retryCount: 1,
    })
    let served: number
    try {
      served = await client.publicClient.getChainId()
    } catch (cause) {
      throw new ChanvmError('CHAIN_ERROR', `cannot reach the JSON-RPC endpoint ${config.chain.rpcUrl}`, {
        cause,
      })
    }
    if (served !== chainId)
      throw new ChanvmError(
        'CONFIG',
        `${config.chain.rpcUrl} serves chain ${served}, the configuration names ${chainId}`,
      )
    // Read-only checks first: a configuration that names the wrong contracts writes nothing.
    await checkDeployment({
      getCode: (a) => client.publicClient.getCode({ address: a }),
      rpcUrl,
      adjudicator: config.chain.adjudicator,
      apps: config.chain.apps ?? {},
      appCodeHashes: Object.fromEntries(registry.list.map((a) => [a.name, a.artifact.codeHash])),
    })
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
    eventLog = openEventLog({ dataDir: config.dataDir })
    const book = createInputBook({ path: join(config.dataDir, INPUTS_FILE) })
    const cancelledPath = join(config.dataDir, CANCELLED_OPENS_FILE)
    const cancelled = readCancelledOpens(cancelledPath)
    const store = createSqliteStore({ path: join(config.dataDir, 'node.db') })
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
    const startedAt = Date.now()
    const brokerHealth: ComponentHealth = { up: true, url: brokerUrl, since: startedAt }
    const chainHealth: NodeHealth['chain'] = { up: true, url: rpcUrl, since: startedAt }
    const setUp = (h: ComponentHealth, up: boolean, error?: string) => {
      if (up) delete h.error
      else if (error !== undefined) h.error = error
      if (h.up === up) return false
      h.up = up
      h.since = Date.now()
      return true
    }
    const fatal = (error: ChanvmError) => {
      if (fatalError !== undefined || closing !== undefined) return
      fatalError = error
      log('error', error.shortMessage, { code: error.code, clientId, url: brokerUrl })
      if (started.node === undefined) return // createNode throws it below
      if (options.onFatal !== undefined) options.onFatal(error)
      else void started.node.close()
    }
    const statusSource = (transport as Partial<MqttTransport>).onStatus?.bind(transport)
    statusSource?.((status) => {
      if (closing !== undefined) return
      if (status === 'taken-over') {
        setUp(brokerHealth, false, `client id ${clientId} taken over by another client`)
        fatal(
          new ChanvmError(
            'CLIENT_ID_TAKEN_OVER',
            `another client took over the MQTT client id ${clientId} on ${brokerUrl}: is a second node running with this key?`,
          ),
        )
      } else if (status === 'offline') {
        if (setUp(brokerHealth, false, 'connection lost'))
          log('warn', `the MQTT broker ${brokerUrl} is unreachable`, { url: brokerUrl, clientId })
      } else if (setUp(brokerHealth, true)) {
        log('info', `the MQTT broker ${brokerUrl} is reachable again`, { url: brokerUrl, clientId })
      }
    })
    /** `p`, or a `CHAIN_TIMEOUT` error once the chain has not answered within its bound. */
    const chainCall = async <T>(p: Promise<T>, what: string, ms = chainTimeoutMs): Promise<T> => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ChanvmError('CHAIN_TIMEOUT', `${rpcUrl} did not answer ${what} within ${ms} ms`)),
          ms,
        )
      })
      try {
        return await Promise.race([p, late])
      } finally {
        clearTimeout(timer)
      }
    }
    /** The latest block, number and timestamp: the one read the probe and the head clock make. */
    const readHead = async (): Promise<Env> => {
      const b = await chainCall(client.publicClient.getBlock({ blockTag: 'latest' }), 'eth_getBlockByNumber')
      return { blockNumber: b.number, timestamp: b.timestamp }
    }
    // Off-chain steps take their Env from the head the probe follows, not from a read of their own.
    const head = createHeadClock({ readHead, maxAgeMs: 2 * Math.max(250, pollingIntervalMs) })
    let probing = false
    const probeChain = async () => {
      if (probing || closing !== undefined) return
      probing = true
      try {
        const latest = await readHead()
        head.see(latest)
        chainHealth.head = { blockNumber: latest.blockNumber, seenAt: Date.now() }
        if (setUp(chainHealth, true)) log('info', `the chain ${rpcUrl} answers again`, { url: rpcUrl })
      } catch (e) {
        const why = e instanceof ChanvmError ? e.shortMessage : (e as Error).message
        if (setUp(chainHealth, false, why))
          log('error', `the chain ${rpcUrl} does not answer: ${why}`, { url: rpcUrl })
      } finally {
        probing = false
      }
    }
    const probeTimer = setInterval(() => void probeChain(), Math.max(250, pollingIntervalMs))
    probeTimer.unref()
    closers.push(async () => clearInterval(probeTimer))
    await probeChain()
    const chainView = (reachable: boolean): ChannelSummary['chainView'] =>
      chainHealth.head === undefined
        ? undefined
        : {
            blockNumber: chainHealth.head.blockNumber,
            ageMs: Math.max(0, Date.now() - chainHealth.head.seenAt),
            reachable,
          }

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
    const party = await createParty({
      signer,
      transport,
      store,
      sandbox,
      apps: registry.list.map((a) => ({ code: a.artifact.deployedBytecode, abi: a.artifact.abi })),
      clock,
      freshClock: () => head.refresh(),
      responseTimeoutMs: config.responseTimeoutMs ?? 15_000,
      onEvent: onPartyEvent,
      ...(options.approve === undefined ? {} : { approve: options.approve }),
    })
    closers.push(() => party.close())

    /** Reads the deposits and tells the party; true once every participant has funded the channel. */
    const confirmFunding = async (channelId: Hex, params: ChannelParams): Promise<boolean> => {
      const deposited = await getDeposits(client, channelId, params.participants)
      return (await party.confirmFunding(channelId, deposited)).ok
    }
    const phaseOf = (channelId: Hex) => {
      try {
        return party.phase(channelId)
      } catch {
        return undefined
      }
    }
    const fundInBackground = (channelId: Hex, params: ChannelParams) => {
      if (phaseOf(channelId) !== 'funding') return
      confirmFunding(channelId, params).catch((e: unknown) =>
        note(`funding check of ${channelId} failed: ${e instanceof Error ? e.message : String(e)}`),
      )
    }

    const onWatcherEvent = (e: WatcherEvent) => {
      const channelId = 'channelId' in e ? e.channelId : undefined
      // A dispute on chain: the party signs no new step of the channel from now on.
      if (e.type === 'registered' || e.type === 'progressed')
        party
          .markDisputed(e.channelId)
          .catch((err: unknown) =>
            note(`cannot mark ${e.channelId} disputed: ${err instanceof Error ? err.message : String(err)}`),
          )
      if (e.type === 'registered' && !inDispute.has(e.channelId.toLowerCase())) {
        inDispute.add(e.channelId.toLowerCase())
        counters.disputes++
      } else if (e.type === 'concluded') inDispute.delete(e.channelId.toLowerCase())
      else if (e.type === 'deposited') {
        for (const wake of depositWaiters.get(e.channelId.toLowerCase()) ?? []) wake()
        const view = watcher.channel(e.channelId)
        if (view !== undefined) fundInBackground(e.channelId, view.params)
      } else if (e.type === 'refuted') {
        const { txHash } = e
        client.publicClient
          .getTransactionReceipt({ hash: txHash })
          .then((r) => {
            counters.gasSpent += r.gasUsed
            emit({
              source: 'chain',
              channelId: e.channelId,
              step: 'refute',
              gasUsed: r.gasUsed,
              hash: txHash,
            })
          })
          .catch(() => undefined)
      }
      emit({ source: 'watcher', ...(channelId === undefined ? {} : { channelId }), event: e })
    }
    const fromCheckpoint = readWatcherCheckpoint(checkpointPath, scope, note)
    const watcher = createWatcher({
      client,
      store,
      signer,
      pollingIntervalMs,
      ...(config.chain.confirmations === undefined
        ? {}
        : { confirmations: BigInt(config.chain.confirmations) }),
      ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
      onEvent: onWatcherEvent,
      onForcedChain: async (chain) => {
        const r = await party.adoptForcedChain(chain)
        note(
          r.ok
            ? `adopted the forced state version ${r.state.version} of ${chain.channelId}`
            : `did not adopt a forced chain of ${chain.channelId} (${r.reason}): ${r.message}`,
        )
      },
    })
    let lastSaved = ''
    let saveFailed = false
    const saveCheckpoint = () => {
      const cp = watcher.checkpoint()
      const text = JSON.stringify(cp, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
      if (text === lastSaved) return
      try {
        writeWatcherCheckpoint(checkpointPath, cp, scope)
        lastSaved = text
        saveFailed = false
      } catch (e) {
        if (!saveFailed)
          note(`cannot save the watcher's place: ${e instanceof Error ? e.message : String(e)}`)
        saveFailed = true
      }
    }
    const stored = await store.listChannels()
    counters.channels = stored.length
    for (const rec of stored) watcher.watch(rec.params)
    watcher.start()
    closers.push(async () => {
      await watcher.stop()
      saveCheckpoint()
    })
    const timer = setInterval(saveCheckpoint, options.checkpointIntervalMs ?? pollingIntervalMs)
    timer.unref()
    closers.push(async () => clearInterval(timer))
    for (const rec of stored) fundInBackground(rec.channelId, rec.params)

    const sources: MqttInputSource[] = []
    for (const [i, input] of (config.inputs ?? []).entries()) {
      const source = await createMqttInputSource({
        url: config.broker.url,
        chainId: BigInt(chainId),
        topics: [input.topic],
        devices: input.signers,
        oracles: input.signers,
        clientId: `${clientId}-inputs-${i}`,
        // Durable replay marks: after a crash, a reading kept in the book before the kill is a
        // duplicate, not a second reading; the book itself is keyed by (signer, sequence).
        replayFile: join(config.dataDir, `inputs-replay-${i}.db`),
        log: false,
        ...broker,
      })
      closers.push(() => source.close())
      sources.push(source)
      source.onInput((v) => {
        book.add(v)
        bump(counters.readings, 'accepted')
        emit({
          source: 'input',
          verdict: 'accepted',
          signer: v.signer,
          topic: v.topic,
          kind: v.kind,
          curve: v.curve,
          ...(v.publicKey === undefined ? {} : { publicKey: v.publicKey }),
          message: v.message,
        })
      })
      source.onRejection((r) => {
        bump(counters.readings, r.verdict ?? r.reason)
        emit({ source: 'input', verdict: r.verdict ?? r.reason, topic: r.topic, detail: r.detail })
      })
    }

    const ensureOpen = () => {
      if (closing !== undefined) throw new ChanvmError('TRANSPORT_CLOSED', 'the node is closed')
    }
    const checkId = (channelId: Hex) => {
      if (typeof channelId !== 'string' || !HEX32.test(channelId))
        throw new ChanvmError('INVALID_ARGUMENT', `not a channel id (32 bytes of hex): ${String(channelId)}`)
    }
    const recordOf = async (channelId: Hex) => {
      checkId(channelId)
      const rec = await store.getChannel(channelId)
      if (rec === undefined)
        throw new ChanvmError('CHANNEL_NOT_FOUND', 'this node holds no such channel', { channelId })
      return rec
    }
    const waitForDeposit = (channelId: Hex, ms: number) =>
      new Promise<void>((resolve) => {
        const k = channelId.toLowerCase()
        const set = depositWaiters.get(k) ?? new Set()
        depositWaiters.set(k, set)
        const done = () => {
          clearTimeout(t)
          set.delete(done)
          resolve()
        }
        const t = setTimeout(done, ms)
        set.add(done)
      })
    /**
     * The Adjudicator's record of a channel and, once it is concluded, this node's credit: read
     * from the chain for `list` and `show` alike (one read per channel, bounded). A chain that is
     * down or slow leaves the watcher's last view instead, with `chainView` saying how old it is.
     */
    const chainViewOf = async (
      channelId: Hex,
      credit: (ms: number) => Promise<bigint> = (ms) =>
        chainCall(getWithdrawable(client, address), 'the withdrawable credit', ms),
    ): Promise<Pick<ChannelSummary, 'onChain' | 'withdrawable' | 'chainView'>> => {
      // A chain known to be down is not asked; one that does not answer soon is given up on:
      // either way the answer is the watcher's view, with how old the node's chain view is.
      const known = () => {
        const view = watcher.channel(channelId)
        const age = chainView(false)
        return {
          ...(view === undefined
            ? {}
            : {
                onChain: {
                  status: view.status === 'disputed' ? ('dispute' as const) : view.status,
                  version: view.version,
                  baseVersion: view.baseVersion,
                  finalizesAt: view.finalizesAt,
                  movesUntil: view.movesUntil,
                },
              }),
          ...(age === undefined ? {} : { chainView: age }),
        }
      }
      if (!chainHealth.up) return known()
      try {
        const ms = Math.min(chainTimeoutMs, LIVE_READ_MS)
        const r = await chainCall(getChannelRecord(client, channelId), 'the channel record', ms)
        const onChain = {
          status: r.status === 'disputed' ? ('dispute' as const) : r.status,
          version: r.version,
          baseVersion: r.baseVersion,
          finalizesAt: r.finalizesAt,
          movesUntil: r.movesUntil,
        }
        const withdrawable = r.status === 'concluded' ? await credit(ms) : undefined
        const age = chainView(true)
        return {
          onChain,
          ...(withdrawable === undefined ? {} : { withdrawable }),
          ...(age === undefined ? {} : { chainView: { ...age, ageMs: 0 } }),
        }
      } catch (e) {
        if (setUp(chainHealth, false, e instanceof Error ? e.message.split('\n')[0] : String(e)))
          log('error', `the chain ${rpcUrl} does not answer: reading ${channelId}`, { url: rpcUrl })
        return known()
      }
    }
    /**
     * The one summary of a channel that `list`, `show`, `open` and `cancelOpen` answer with;
     * `credit` reads this node's withdrawable credit (one address, whatever the channel).
     */
    const summarize = async (
      channelId: Hex,
      credit?: (ms: number) => Promise<bigint>,
    ): Promise<ChannelSummary> => {
      const rec = await recordOf(channelId)
      const module = appOf(rec.params)
      if (module === undefined)
        throw new ChanvmError('APP_CODE_MISMATCH', 'the channel runs an app this node does not know', {
          channelId,
        })
      const base = await party.base(rec.channelId)
      const phase = party.phase(rec.channelId)
      const chain = await chainViewOf(rec.channelId, credit)
      return {
        channelId: rec.channelId,
        app: module.name,
        roles: [module.roles[0], module.roles[1]],
        participants: [...rec.params.participants],
        me: rec.myIndex,
        status: channelStatus({
          phase,
          ...(chain.onChain === undefined ? {} : { onChain: chain.onChain.status }),
          ...(chain.withdrawable === undefined ? {} : { withdrawable: chain.withdrawable }),
          cancelled: cancelled.has(rec.channelId.toLowerCase()),
        }),
        phase,
        version: base?.version ?? 0n,
        balances: [...(base?.balances ?? [])],
        isFinal: base?.isFinal ?? false,
        ...chain,
      }
    }
    const disputeDeps = async (channelId: Hex): Promise<DisputeDeps> => {
      const rec = await recordOf(channelId)
      const app = appOf(rec.params)
      const code =
        app === undefined ? undefined : { code: app.artifact.deployedBytecode, abi: app.artifact.abi }
      return {
        client,
        store,
        params: rec.params,
        me: rec.myIndex,
        party,
        signer,
        sandbox,
        ...(code === undefined
          ? {}
          : { appCode: code.code, ...(code.abi === undefined ? {} : { appAbi: code.abi }) }),
      }
    }

    const opening = new Map<string, Promise<unknown>>()
    /** Runs `fn` after every open and cancel of the channel before it: one at a time per channel. */
    const serialOpen = <T>(channelId: Hex, fn: () => Promise<T>): Promise<T> => {
      const key = channelId.toLowerCase()
      const before = opening.get(key) ?? Promise.resolve()
      const mine = before.catch(() => undefined).then(fn)
      const tail = mine.catch(() => undefined)
      opening.set(key, tail)
      void tail.then(() => {
        if (opening.get(key) === tail) opening.delete(key)
      })
      return mine
    }
    /** The initial state this node signed or holds co-signed for a channel, if any. */
    const heldInitial = async (channelId: Hex): Promise<State | undefined> =>
      (await store.getSignedState(channelId, 0n))?.state ??
      (await store.getSignatureRecord(channelId, 0n))?.state
    /**
     * Refuses (`OPEN_CONFLICT`, naming what differs) an open of a cancelled channel, and one whose
     * counterparty and nonce this node already holds a channel for with other balances, terms,
     * app, role or challenge duration. The same request again passes: opening is idempotent.
     */
    const checkOpenConflict = async (params: ChannelParams, initial: State, channelId: Hex) => {
      const key = channelId.toLowerCase()
      if (cancelled.has(key))
        throw new ChanvmError(
          'OPEN_CONFLICT',
          'this open was cancelled: open the channel with another nonce',
          {
            channelId,
          },
        )
      const pair = (p: ChannelParams) =>
        p.participants
          .map((a) => a.toLowerCase())
          .sort()
          .join()
      for (const rec of await store.listChannels()) {
        const same = rec.channelId.toLowerCase() === key
        if (!same && (rec.params.nonce !== params.nonce || pair(rec.params) !== pair(params))) continue
        const differences = openRequestDifferences(
          { params: rec.params, initial: same ? await heldInitial(rec.channelId) : undefined },
          { params, initial },
        )
        if (differences.length > 0)
          throw new ChanvmError(
            'OPEN_CONFLICT',
            `this node holds channel ${rec.channelId} for nonce ${params.nonce} with this counterparty, with other terms`,
            { channelId: rec.channelId, details: differences },
          )
      }
    }
    /** This node's last step a peer refused or left unanswered, per channel: what a dispute forces. */
    const unsigned = new Map<string, Hex>()
    const pendingOf = (channelId: Hex) => {
      const action = unsigned.get(channelId.toLowerCase())
      return action === undefined ? {} : { pendingAction: action }
    }
    const openChannel = async (
      request: OpenRequest,
      params: ChannelParams,
      initial: State,
      channelId: Hex,
    ): Promise<ChannelSummary> => {
      await checkOpenConflict(params, initial, channelId)
      watcher.watch(params)
      await party.open(params, initial)
      counters.channels = (await store.listChannels()).length
      const me = params.participants.findIndex((p) => p.toLowerCase() === address.toLowerCase())
      const want = initial.balances[me] ?? 0n
      if (
        request.deposit !== false &&
        want > 0n &&
        phaseOf(channelId) === 'funding' &&
        !cancelled.has(channelId.toLowerCase())
      ) {
        const [have = 0n] = await getDeposits(client, channelId, [address])
        if (have < want) {
          // Only if nothing went in since it was read: a second deposit (a retried call, another
          // process) reverts instead of adding to the opening balance (see docs/adjudicator.md).
          const r = await deposit(client, {
            channelId,
            participant: address,
            amount: want - have,
            expectedDeposited: have,
          })
          counters.gasSpent += r.gasUsed
          emit({ source: 'chain', channelId, step: 'deposit', gasUsed: r.gasUsed, hash: r.hash })
        }
      }
      const until = Date.now() + fundingTimeoutMs
      while (phaseOf(channelId) === 'funding' && !(await confirmFunding(channelId, params))) {
        if (closing !== undefined) throw new ChanvmError('TRANSPORT_CLOSED', 'the node closed', { channelId })
        const left = until - Date.now()
        if (left <= 0)
          throw new ChanvmError('PEER_TIMEOUT', 'not every participant funded the channel in time', {
            channelId,
            details: ['the channel stays in funding; it is confirmed when the deposits arrive'],
          })
        await waitForDeposit(channelId, Math.min(left, Math.max(pollingIntervalMs, 250)))
      }
      return summarize(channelId)
    }

    const kept = journal
    const node: ChanvmNode = {
      address,
      apps: registry,
      party,
      journal: {
        timeline: async (channelId) => kept.timeline(await recordOf(channelId)),
        inputs: () => kept.inputs(),
        health: () => kept.health(),
      },
      async open(request) {
        ensureOpen()
        const { params, initial, channelId } = requestToChannel(request, {
          self: address,
          chainId: BigInt(chainId),
          adjudicator: config.chain.adjudicator,
          apps: config.chain.apps ?? {},
          registry,
        })
        // The app's contract must be the app's code now, not only at start-up: a channel whose
        // contract differs could not be settled as the sandbox ran it.
        const onChain = (await client.publicClient.getCode({ address: params.app })) ?? '0x'
        const expected = appOf(params)?.artifact.codeHash ?? params.appCodeHash
        if (onChain === '0x' || keccak256(onChain).toLowerCase() !== expected.toLowerCase())
          throw new ChanvmError(
            'APP_CODE_MISMATCH',
            `chain.apps.${request.app} ${params.app} does not run the ${request.app} app: the channel is refused`,
            {
              details: [
                `code hash on chain ${onChain === '0x' ? 'none (no code)' : keccak256(onChain)}, expected ${expected}`,
              ],
            },
          )
        // One open at a time per channel: a second one waits, then finds the deposit made.
        return serialOpen(channelId, () => openChannel(request, params, initial, channelId))
      },
      async cancelOpen(channelId) {
        ensureOpen()
        const rec = await recordOf(channelId)
        return serialOpen(rec.channelId, async () => {
          const phase = party.phase(rec.channelId)
          if (phase !== 'opening')
            throw new ChanvmError(
              'NOT_CANCELLABLE',
              `the open completed (phase ${phase}): it cannot be cancelled`,
              {
                channelId: rec.channelId,
                details: ['version 0 is co-signed: settle the channel on chain instead (chanvm dispute)'],
              },
            )
          const deposits = await getDeposits(client, rec.channelId, rec.params.participants)
          const { holdings } = await getChannelRecord(client, rec.channelId)
          if (holdings > 0n || deposits.some((d) => d > 0n))
            throw new ChanvmError(
              'NOT_CANCELLABLE',
              'wei is deposited for this channel: it cannot be cancelled',
              {
                channelId: rec.channelId,
                details: [`deposits [${deposits.join(', ')}], holdings ${holdings}`],
              },
            )
          cancelled.add(rec.channelId.toLowerCase())
          writeCancelledOpens(cancelledPath, cancelled)
          note(`cancelled the open of ${rec.channelId}`)
          return summarize(rec.channelId)
        })
      },
      async act(channelId, action) {
        ensureOpen()
        const rec = await recordOf(channelId)
        if (statusSource !== undefined && !brokerHealth.up)
          throw new ChanvmError(
            'BROKER_UNAVAILABLE',
            `the MQTT broker ${brokerUrl} is not connected: the step cannot reach the counterparty`,
            { channelId: rec.channelId, details: ['nothing was signed; try again once the broker is back'] },
          )
        const app = appOf(rec.params)
        if (app === undefined)
          throw new ChanvmError('APP_CODE_MISMATCH', 'the channel runs an app this node does not know', {
            channelId,
          })
        const base = await party.base(rec.channelId)
        if (base === undefined)
          throw new ChanvmError('INVALID_ARGUMENT', 'the channel has no co-signed state yet', { channelId })
        const calldata = actionToCalldata(app, action, base, book, rec.channelId)
        let r = await party.update(rec.channelId, calldata)
        if (!r.ok && r.reason === 'step-rejected') {
          // The step ran at the head the node follows, up to two polling intervals old. One that
          // time makes valid (a deadline passed, readings newer than that head) runs once more
          // at the head read now, if the chain moved since. Nothing was signed for the first run.
          const held = head.latest()?.head
          const fresh = await head.refresh().catch(() => undefined)
          if (
            fresh !== undefined &&
            (held === undefined ||
              fresh.blockNumber !== held.blockNumber ||
              fresh.timestamp !== held.timestamp)
          )
            r = await party.update(rec.channelId, calldata)
        }
        if (r.ok) {
          unsigned.delete(rec.channelId.toLowerCase())
          const step = { version: r.signed.state.version, mover: rec.myIndex, calldata, gasUsed: r.gasUsed }
          journal?.noteOwnStep(rec.channelId, step)
        } else if (r.reason === 'peer-rejected' || r.reason === 'peer-timeout')
          unsigned.set(rec.channelId.toLowerCase(), calldata)
        if (!r.ok && r.reason === 'peer-timeout') {
          emit({
            source: 'node',
            message: `${String(action.action ?? action.type)} on ${rec.channelId} was not co-signed in time (waiting for ${r.missing.join(', ')}): see chanvm dispute`,
          })
        }
        return r
      },
      async list() {
        ensureOpen()
        // The credit is the node's, not a channel's: read once for the whole list. The records
        // are read a few at a time, so a node with many channels does not flood its RPC endpoint.
        let read: Promise<bigint> | undefined
        const credit = (ms: number) =>
          (read ??= chainCall(getWithdrawable(client, address), 'the withdrawable credit', ms))
        const ids = (await store.listChannels()).map((rec) => rec.channelId)
        const all: ChannelSummary[] = []
        for (let i = 0; i < ids.length; i += LIST_READS_AT_ONCE)
          all.push(
            ...(await Promise.all(ids.slice(i, i + LIST_READS_AT_ONCE).map((id) => summarize(id, credit)))),
          )
        return all.filter((c) => c.status !== 'cancelled')
      },
      async show(channelId) {
        ensureOpen()
        return summarize(channelId)
      },
      async disputePlan(channelId) {
        ensureOpen()
        return planDispute(await disputeDeps(channelId), channelId, pendingOf(channelId))
      },
      async disputeStep(channelId, opts = {}) {
        ensureOpen()
        return takeDisputeStep(await disputeDeps(channelId), channelId, {
          ...pendingOf(channelId),
          ...(opts.force === undefined ? {} : { force: opts.force }),
          onProgress: (p) => {
            if (p.type !== 'mined') return
            if (p.step === 'force') unsigned.delete(p.channelId.toLowerCase())
            counters.gasSpent += p.result.gasUsed
            emit({
              source: 'chain',
              channelId: p.channelId,
              step: p.step,
              gasUsed: p.result.gasUsed,
              hash: p.result.hash,
            })
          },
        })
      },
      onEvent(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      eventsSince(lastId) {
        return eventLog?.since(lastId) ?? { gap: false, events: [] }
      },
      health(): NodeHealth {
        return {
          ready: closing === undefined && fatalError === undefined && brokerHealth.up && chainHealth.up,
          broker: { ...brokerHealth },
          chain: {
            ...chainHealth,
            ...(chainHealth.head === undefined ? {} : { head: { ...chainHealth.head } }),
          },
        }
      },
      metrics(): NodeMetrics {
        return {
          ...counters,
          refusals: { ...counters.refusals },
          readings: { ...counters.readings },
        }
      },
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

/** `scheme://host:port` of a URL, without credentials, path or query (which may hold an API key). */
function urlOrigin(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return 'unparsable URL'
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
