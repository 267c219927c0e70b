import { bytesToHex, encodeEventTopics, formatLog, parseEventLogs, toHex, type Abi, type Hex, type Log, type RpcLog } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from '../adjudicator/createAdjudicatorClient.ts'
import { forceProgress as forceProgressTx, type ForceProgressResult } from '../adjudicator/forceProgress.ts'
import { getChannelRecord } from '../adjudicator/getChannelRecord.ts'
import { register } from '../adjudicator/register.ts'
import { signMove } from '../adjudicator/signMove.ts'
import type { AdjudicatorLog } from '../adjudicator/submitAdjudicatorTx.ts'
import { toAdjudicatorError } from '../adjudicator/toAdjudicatorError.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import { hashStateStruct } from '../channel/hashState.ts'
import type { ChannelParams, Env, SignedState, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'

/** The watcher's port to the party's store: the newest state every participant signed. */
export type SignedStateSource = {
  getLatestSignedState(channelId: Hex): Promise<SignedState | undefined>
}

/** A state forced on chain, with everything needed to re-run and adopt it. */
export type ForcedState = {
  channelId: Hex
  params: ChannelParams
  /** The state the chain now holds (version = base version + 1). */
  state: State
  mover: bigint
  action: Hex
  /** The block the step ran in: the Env the app saw. */
  env: Env
  /**
   * The state the step was applied to, when the watcher knows it (the state held before, or the
   * store's co-signed state of the version below), so the step can be re-run in the sandbox.
   */
  base: State | undefined
  finalizesAt: bigint
  txHash: Hex
}

/** Everything the watcher reports, in chain order per channel. */
export type WatcherEvent =
  | { type: 'deposited'; channelId: Hex; participant: Hex; amount: bigint; holdings: bigint; blockNumber: bigint }
  | { type: 'registered'; channelId: Hex; state: State; finalizesAt: bigint; blockNumber: bigint; txHash: Hex }
  | ({ type: 'progressed'; blockNumber: bigint } & ForcedState)
  | { type: 'concluded'; channelId: Hex; version: bigint; payouts: readonly bigint[]; blockNumber: bigint }
  /** The watcher registered its newer co-signed state over a stale one. */
  | { type: 'refuted'; channelId: Hex; staleVersion: bigint; version: bigint; txHash: Hex }
  /** A newer co-signed state exists but the challenge period is over: too late to refute. */
  | { type: 'missed'; channelId: Hex; heldVersion: bigint; latestVersion: bigint }
  | { type: 'rpc-down'; error: ChanvmError }
  | { type: 'rpc-up' }
  | { type: 'error'; channelId: Hex | undefined; error: ChanvmError }

/** What the watcher knows of a channel from the chain. */
export type WatchedChannel = {
  readonly params: ChannelParams
  readonly channelId: Hex
  status: 'open' | 'disputed' | 'concluded'
  /** Version of the state held on chain (0 while open). */
  version: bigint
  /** The state held, in full, once an event carrying it was seen. */
  held: State | undefined
  /** Whether the state held was forced: a co-signed state of the same version then outranks it. */
  forced: boolean
  /** When the running dispute can be concluded (unix seconds); 0 when none. */
  finalizesAt: bigint
  holdings: bigint
}

/** Options of {@link createWatcher}. */
export type CreateWatcherOptions = {
  /** A client with a key: refutations and forced steps are sent from it. */
  client: AdjudicatorClient
  /** Where the newest co-signed state of a channel comes from (the party's store). */
  store: SignedStateSource
  /** The participant key that signs moves for {@link Watcher.forceProgress}. */
  moverKey?: Hex
  /** First block to read events from. Default: the chain head at the first poll. */
  fromBlock?: bigint
  /** Milliseconds between polls. Default 1,000. */
  pollingIntervalMs?: number
  /** Blocks behind the head to stay, against reorgs. Default 0 (a local chain). */
  confirmations?: bigint
  /** Largest block range of one `eth_getLogs`. Default 2,000. */
  maxBlockRange?: bigint
  /** Register the newer co-signed state when a stale one is held on chain. Default true. */
  autoRefute?: boolean
  /** Every event, in order. A throwing listener does not stop the watcher. */
  onEvent?: (event: WatcherEvent) => void
  /** Called for every state forced on chain (by anyone), so the protocol can take it as its new base. */
  onForcedState?: (forced: ForcedState) => void | Promise<void>
}

/** A running watcher, from {@link createWatcher}. */
export type Watcher = {
  /** Follows a channel from now on (and from `fromBlock` for events). */
  watch(params: ChannelParams): WatchedChannel
  unwatch(channelId: Hex): void
  /** What the watcher last saw of a channel. */
  channel(channelId: Hex): WatchedChannel | undefined
  /** Starts polling every `pollingIntervalMs`. */
  start(): void
  /** Stops polling and waits for a poll in progress. */
  stop(): Promise<void>
  /** Runs one poll now (reads events, refutes); concurrent calls share one poll. Never throws. */
  poll(): Promise<void>
  /**
   * Forces one step on chain when the other side stalls: on the newest co-signed state when it is
   * newer than the state held (registered in the same call), else on the state held. The mover
   * defaults to the participant whose key is `moverKey`.
   */
  forceProgress(channelId: Hex, step: { action: Hex; mover?: bigint; appAbi?: Abi }): Promise<ForceProgressResult>
  /** Resolves with the first event (from now on) that matches; rejects after `timeoutMs` (default 30 s). */
  waitFor(match: (event: WatcherEvent) => boolean, timeoutMs?: number): Promise<WatcherEvent>
}

const watchedEvents = ['Deposited', 'Registered', 'Progressed', 'Concluded'] as const

/**
 * Follows the Adjudicator's events for the channels it watches, by polling `eth_getLogs` through
 * viem, and keeps the party safe while it does:
 *
 * - a stale state registered on chain (by anyone) is refuted at once with the newest co-signed
 *   state from the store, within the challenge period;
 * - a state forced on chain is handed to `onForcedState`, so the protocol adopts it as its base;
 * - {@link Watcher.forceProgress} takes a step on chain when the other party stalls.
 *
 * An endpoint that fails is reported once (`rpc-down`) and retried on every poll; the block cursor
 * only moves past blocks whose events were processed, so nothing is missed when it comes back.
 *
 * @example
 * ```ts
 * const watcher = createWatcher({ client, store, moverKey: aliceKey, onForcedState: (f) => protocol.adopt(f) })
 * watcher.watch(params)
 * watcher.start()
 * // ...
 * await watcher.stop()
 * ```
 */
export function createWatcher(opts: CreateWatcherOptions): Watcher {
  const { client, store } = opts
  const interval = opts.pollingIntervalMs ?? 1_000
  const confirmations = opts.confirmations ?? 0n
  const range = opts.maxBlockRange ?? 2_000n
  const autoRefute = opts.autoRefute ?? true
  const channels = new Map<string, WatchedChannel & { synced: boolean; refuting: boolean }>()
  const listeners = new Set<(e: WatcherEvent) => void>()
  let cursor: bigint | undefined
  let down = false
  let running: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = true

  const emit = (event: WatcherEvent): void => {
    for (const l of [...listeners, ...(opts.onEvent === undefined ? [] : [opts.onEvent])]) {
      try {
        l(event)
      } catch {
        // a listener's failure is its own
      }
    }
  }

  const key = (id: Hex): string => id.toLowerCase()

  /** The store's latest state; a failing store is reported and read as "nothing". */
  const readStore = async (channelId: Hex): Promise<SignedState | undefined> => {
    try {
      return await store.getLatestSignedState(channelId)
    } catch (e) {
      const error = e instanceof ChanvmError ? e : new ChanvmError('STORE_ERROR', 'cannot read the latest co-signed state', { cause: e, channelId })
      emit({ type: 'error', channelId, error })
      return undefined
    }
  }

  const apply = async (log: AdjudicatorLog & { blockNumber: bigint; transactionHash: Hex }): Promise<void> => {
    if (!('channelId' in log.args)) return
    const ch = channels.get(key(log.args.channelId))
    if (ch === undefined) return
    const base = { channelId: ch.channelId, blockNumber: log.blockNumber }
    switch (log.eventName) {
      case 'Deposited':
        ch.holdings = log.args.holdings
        emit({ type: 'deposited', ...base, participant: log.args.participant, amount: log.args.amount, holdings: log.args.holdings })
        break
      case 'Registered': {
        const state = copyState(log.args.state)
        Object.assign(ch, { status: 'disputed', version: state.version, held: state, forced: false, finalizesAt: BigInt(log.args.finalizesAt) })
        emit({ type: 'registered', ...base, state, finalizesAt: ch.finalizesAt, txHash: log.transactionHash })
        break
      }
      case 'Progressed': {
        const state = copyState(log.args.state)
        const before = ch.held
        Object.assign(ch, { status: 'disputed', version: state.version, held: state, forced: true, finalizesAt: BigInt(log.args.finalizesAt) })
        const latest = await readStore(ch.channelId)
        let base = before !== undefined && before.version + 1n === state.version ? before : undefined
        if (base === undefined && latest?.state.version === state.version - 1n) base = latest.state
        const forced: ForcedState = {
          channelId: ch.channelId,
          params: ch.params,
          state,
          mover: log.args.mover,
          action: log.args.action,
          env: { blockNumber: log.blockNumber, timestamp: ch.finalizesAt - ch.params.challengeDuration },
          finalizesAt: ch.finalizesAt,
          txHash: log.transactionHash,
          base,
        }
        emit({ type: 'progressed', blockNumber: log.blockNumber, ...forced })
        // A forced state not newer than our co-signed one is not a new base: it gets refuted instead.
        const superseded = latest !== undefined && latest.signatures.length === ch.params.participants.length && latest.state.version >= state.version
        if (opts.onForcedState !== undefined && !superseded) {
          try {
            await opts.onForcedState(forced)
          } catch (e) {
            emit({ type: 'error', channelId: ch.channelId, error: asChanvmError(e, 'onForcedState failed', ch.channelId) })
          }
        }
        break
      }
      case 'Concluded':
        Object.assign(ch, { status: 'concluded', version: log.args.version, finalizesAt: 0n, holdings: 0n })
        emit({ type: 'concluded', ...base, version: log.args.version, payouts: log.args.payouts })
        break
    }
  }

  const readLogs = async (from: bigint, to: bigint): Promise<void> => {
    const ids = [...channels.values()].map((c) => c.channelId)
    if (ids.length === 0) return
    const topics = watchedEvents.map((eventName) => encodeEventTopics({ abi: Adjudicator.abi, eventName })[0] as Hex)
    const raw = (await client.publicClient.request({
      method: 'eth_getLogs',
      params: [{ address: client.address, fromBlock: toHex(from), toBlock: toHex(to), topics: [topics, ids] }],
    })) as RpcLog[]
    const logs: Log[] = raw.map((l) => formatLog(l))
    const parsed = parseEventLogs({ abi: Adjudicator.abi, logs, strict: true })
    parsed.sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : a.blockNumber! < b.blockNumber! ? -1 : 1))
    for (const log of parsed) await apply(log as AdjudicatorLog & { blockNumber: bigint; transactionHash: Hex })
  }

  /** Whether a co-signed state outranks the state held: a higher version, or the same version
   * over a forced state (and not the very state held). */
  const outranksHeld = (ch: WatchedChannel, s: State): boolean =>
    s.version > ch.version ||
    (s.version === ch.version && ch.forced && (ch.held === undefined || bytesToHex(hashStateStruct(ch.held)) !== bytesToHex(hashStateStruct(s))))

  const refuteIfStale = async (ch: WatchedChannel & { refuting: boolean }, now: bigint): Promise<void> => {
    if (!autoRefute || ch.status !== 'disputed' || ch.refuting) return
    const latest = await readStore(ch.channelId)
    if (latest === undefined || !outranksHeld(ch, latest.state)) return
    if (latest.signatures.length !== ch.params.participants.length) return // not co-signed: nothing to register
    if (now >= ch.finalizesAt) {
      emit({ type: 'missed', channelId: ch.channelId, heldVersion: ch.version, latestVersion: latest.state.version })
      return
    }
    ch.refuting = true
    const stale = ch.version
    try {
      const r = await register(client, { params: ch.params, signed: latest })
      Object.assign(ch, { version: latest.state.version, held: latest.state, forced: false, finalizesAt: r.finalizesAt })
      emit({ type: 'refuted', channelId: ch.channelId, staleVersion: stale, version: latest.state.version, txHash: r.hash })
    } catch (e) {
      emit({ type: 'error', channelId: ch.channelId, error: asChanvmError(e, 'refutation failed', ch.channelId) })
    } finally {
      ch.refuting = false
    }
  }

  const pollOnce = async (): Promise<void> => {
    try {
      const head = await client.publicClient.getBlockNumber({ cacheTime: 0 })
      const safe = head - confirmations
      if (cursor === undefined) cursor = opts.fromBlock ?? safe
      for (const ch of channels.values()) {
        if (ch.synced) continue
        const rec = await getChannelRecord(client, ch.channelId)
        Object.assign(ch, { status: rec.status, version: rec.version, finalizesAt: rec.finalizesAt, holdings: rec.holdings, forced: rec.forced, synced: true })
      }
      for (let from: bigint = cursor ?? opts.fromBlock ?? safe; from <= safe; from = cursor) {
        const to: bigint = from + range - 1n < safe ? from + range - 1n : safe
        await readLogs(from, to)
        cursor = to + 1n
      }
      if (down) {
        down = false
        emit({ type: 'rpc-up' })
      }
      if (autoRefute && [...channels.values()].some((c) => c.status === 'disputed')) {
        const block = await client.publicClient.getBlock({ blockTag: 'latest' })
        for (const ch of channels.values()) await refuteIfStale(ch, block.timestamp)
      }
    } catch (e) {
      const error = asChanvmError(e, 'the JSON-RPC endpoint failed', undefined)
      if (!down) {
        down = true
        emit({ type: 'rpc-down', error })
      }
    }
  }

  const poll = (): Promise<void> => {
    running ??= pollOnce().finally(() => {
      running = undefined
    })
    return running
  }

  const loop = (): void => {
    if (stopped) return
    void poll().then(() => {
      if (!stopped) timer = setTimeout(loop, interval)
    })
  }

  return {
    watch(params) {
      const channelId = getChannelId(params)
      const existing = channels.get(key(channelId))
      if (existing !== undefined) return existing
      const ch = { params, channelId, status: 'open' as const, version: 0n, held: undefined, forced: false, finalizesAt: 0n, holdings: 0n, synced: false, refuting: false }
      channels.set(key(channelId), ch)
      return ch
    },
    unwatch(channelId) {
      channels.delete(key(channelId))
    },
    channel(channelId) {
      return channels.get(key(channelId))
    },
    start() {
      if (!stopped) return
      stopped = false
      loop()
    },
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await running
    },
    poll,
    async forceProgress(channelId, step) {
      const ch = channels.get(key(channelId))
      if (ch === undefined) throw new ChanvmError('CHANNEL_NOT_FOUND', 'the watcher does not watch this channel', { channelId })
      if (opts.moverKey === undefined) throw new ChanvmError('CONFIG', 'forceProgress needs the watcher to have a moverKey', { channelId })
      const moverKey = opts.moverKey
      const me = privateKeyToAddress(moverKey).toLowerCase()
      const mover = step.mover ?? BigInt(ch.params.participants.findIndex((p) => p.toLowerCase() === me))
      if (mover < 0n) throw new ChanvmError('NOT_PARTICIPANT', 'the mover key is not a participant', { channelId })
      const rec = await getChannelRecord(client, channelId)
      const latest = await store.getLatestSignedState(channelId)
      const cosigned = latest !== undefined && latest.signatures.length === ch.params.participants.length
      let from: State
      let fromSignatures: readonly Hex[] = []
      if (cosigned && (rec.status === 'open' || latest.state.version > rec.version || (latest.state.version === rec.version && rec.forced && bytesToHex(hashStateStruct(latest.state)) !== rec.stateHash))) {
        from = latest.state
        fromSignatures = latest.signatures
      } else if (rec.status === 'disputed' && ch.held !== undefined && bytesToHex(hashStateStruct(ch.held)) === rec.stateHash) {
        from = ch.held
      } else {
        throw new ChanvmError('STALE_VERSION', 'no base state to force progress on: the state held is unknown and no newer co-signed state exists', { channelId })
      }
      const r = await forceProgressTx(client, {
        params: ch.params,
        from,
        fromSignatures,
        mover,
        action: step.action,
        moverSignature: signMove(ch.params, from, mover, step.action, moverKey),
        ...(step.appAbi === undefined ? {} : { appAbi: step.appAbi }),
      })
      // Our own forced state reaches the channel view and onForcedState through the logs, like
      // anyone's; poll until it is in (a poll already running may have read an older head).
      for (let i = 0; i < 3 && ch.version < r.state.version; i++) await poll()
      return r
    },
    waitFor(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener)
          reject(new ChanvmError('PEER_TIMEOUT', `no matching watcher event within ${timeoutMs} ms`))
        }, timeoutMs)
        const listener = (e: WatcherEvent): void => {
          if (!match(e)) return
          clearTimeout(timer)
          listeners.delete(listener)
          resolve(e)
        }
        listeners.add(listener)
      })
    },
  }
}

function copyState(s: State): State {
  return { channelId: s.channelId, version: s.version, balances: [...s.balances], appData: s.appData, isFinal: s.isFinal }
}

function asChanvmError(e: unknown, action: string, channelId: Hex | undefined): ChanvmError {
  return toAdjudicatorError(e, { action, ...(channelId === undefined ? {} : { channelId }) })
}
