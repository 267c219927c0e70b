import { bytesToHex, type Abi, type Hex } from 'viem'
import type { AdjudicatorClient } from '../adjudicator/createAdjudicatorClient.ts'
import { forceProgress as forceProgressTx, type ForceProgressResult } from '../adjudicator/forceProgress.ts'
import { hashMove } from '../adjudicator/hashMove.ts'
import { outranksHeld } from '../adjudicator/outranksHeld.ts'
import { register } from '../adjudicator/register.ts'
import { toAdjudicatorError } from '../adjudicator/toAdjudicatorError.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import { hashStateStruct } from '../channel/hashState.ts'
import type { ChannelParams, ForcedChain, SignedState, State } from '../channel/types.ts'
import type { Signer } from '../crypto/types.ts'
import { ChanvmError } from '../errors.ts'
import { createChannelView } from './createChannelView.ts'
import { createViemWatcherChain } from './createViemWatcherChain.ts'
import { decideAdoption } from './decideAdoption.ts'
import { findBlockAtTime } from './findBlockAtTime.ts'
import { findForkPoint } from './findForkPoint.ts'
import { isCoSigned } from './isCoSigned.ts'
import { reduceChannel } from './reduceChannel.ts'
import { applyChainLog } from './applyChainLog.ts'
import { applyChannelRecord } from './applyChannelRecord.ts'
import type {
  BlockRef,
  ChainLog,
  ChannelView,
  SignedStateSource,
  WatcherChain,
  WatcherCheckpoint,
  WatcherDecision,
  WatcherEvent,
} from './types.ts'

/** Options of {@link createWatcher}. */
export type CreateWatcherOptions = {
  /** A client with a key: refutations and forced steps are sent from it. */
  client: AdjudicatorClient
  /** Where the newest co-signed state of a channel comes from (the party's store). */
  store: SignedStateSource
  /** The participant's signer: it signs moves for {@link Watcher.forceProgress}. */
  signer?: Signer
  /** What the watcher reads the chain through. Default: {@link createViemWatcherChain} over `client`. */
  chain?: WatcherChain
  /** First block to read events from. Default: the chain head (less `confirmations`) at the first poll. */
  fromBlock?: bigint
  /** Resume where a watcher left off ({@link Watcher.checkpoint}); takes precedence over `fromBlock`. */
  fromCheckpoint?: WatcherCheckpoint
  /** Milliseconds between polls. Default 1,000. */
  pollingIntervalMs?: number
  /**
   * Blocks behind the head to stay, so that a reorganisation rarely reaches what was read. Default
   * 0 on a local chain (chain id 31337, anvil), else 3. Reorganisations are detected either way.
   */
  confirmations?: bigint
  /** Largest block range of one `eth_getLogs`. Default 2,000. */
  maxBlockRange?: bigint
  /** How many ends of read block ranges to keep for the reorganisation check. Default 64. */
  keepBlocks?: number
  /** Register the newer co-signed state when a state it outranks is held on chain. Default true. */
  autoRefute?: boolean
  /** Every event, in order. A throwing listener does not stop the watcher. */
  onEvent?: (event: WatcherEvent) => void
  /**
   * Called with the whole forced chain (its co-signed base and every move since) whenever it grows
   * and starts at or above the latest co-signed state, so the party can re-run and adopt it.
   */
  onForcedChain?: (chain: ForcedChain) => void | Promise<void>
}

/** A running watcher, from {@link createWatcher}. */
export type Watcher = {
  /** Follows a channel from the next poll on. */
  watch(params: ChannelParams): ChannelView
  unwatch(channelId: Hex): void
  /** What the watcher last saw of a channel. */
  channel(channelId: Hex): ChannelView | undefined
  /** Starts polling every `pollingIntervalMs`. */
  start(): void
  /** Stops polling and waits for a poll in progress. */
  stop(): Promise<void>
  /** Runs one poll now (checks for reorganisations, reads logs and records, refutes); concurrent calls share one poll. Never throws. */
  poll(): Promise<void>
  /** Where the watcher is, to resume from after a restart (`fromCheckpoint`). */
  checkpoint(): WatcherCheckpoint
  /**
   * Forces one step on chain when the other side stalls: on the newest co-signed state when it
   * outranks the state held (registered in the same call), else on the state held. The mover
   * defaults to the participant whose signer this is.
   */
  forceProgress(
    channelId: Hex,
    step: { action: Hex; mover?: bigint; appAbi?: Abi },
  ): Promise<ForceProgressResult>
  /** Resolves with the first event (from now on) that matches; rejects after `timeoutMs` (default 30 s). */
  waitFor(match: (event: WatcherEvent) => boolean, timeoutMs?: number): Promise<WatcherEvent>
}

type Entry = {
  view: ChannelView
  synced: boolean
  /** The state held (struct hash) the last rebuild was for: one rebuild per state held, not one per poll. */
  rebuiltFor: Hex | undefined
}

/**
 * Follows the Adjudicator for the channels it watches and keeps the party safe. It is a thin
 * driver: it reads facts through a {@link WatcherChain} (logs, records, block hashes), folds them
 * into each channel's view with the pure {@link reduceChannel}, and carries out its decisions:
 *
 * - `refute`: a co-signed state outranks the state held (its version is above the dispute's base)
 *   while the challenge period runs: it is registered (checked again against the newest record first);
 * - `adopt`: a forced chain that starts at or above the latest co-signed state goes whole to
 *   `onForcedChain`; one over an older base is reported (`overwrote`) and refuted, never adopted;
 * - `rebuild`: the record contradicts the logs read: the channel is read again from its dispute's start.
 *
 * Each poll first checks that the last block it read up to is still canonical; if not, it goes
 * back to the newest block that is, reads every channel again as of that block and reads on
 * (`reorg`). The record of every disputed channel is checked on every poll. An endpoint that fails
 * is reported once (`rpc-down`) and retried on every poll; the cursor moves only past blocks whose
 * logs were handled.
 *
 * @example
 * ```ts
 * const watcher = createWatcher({ client, store, signer, onForcedChain: (c) => party.adoptForcedChain(c) })
 * watcher.watch(params)
 * watcher.start()
 * // ...
 * await watcher.stop()
 * ```
 */
export function createWatcher(opts: CreateWatcherOptions): Watcher {
  const { client, store } = opts
  const chain = opts.chain ?? createViemWatcherChain(client)
  const interval = opts.pollingIntervalMs ?? 1_000
  const confirmations = opts.confirmations ?? (client.chain.id === 31337 ? 0n : 3n)
  const range = opts.maxBlockRange ?? 2_000n
  const keep = opts.keepBlocks ?? 64
  const autoRefute = opts.autoRefute ?? true
  const channels = new Map<string, Entry>()
  const listeners = new Set<(e: WatcherEvent) => void>()
  let cursor: bigint | undefined = opts.fromCheckpoint?.cursor
  let kept: BlockRef[] = [...(opts.fromCheckpoint?.blocks ?? [])]
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
      const error =
        e instanceof ChanvmError
          ? e
          : new ChanvmError('STORE_ERROR', 'cannot read the latest co-signed state', { cause: e, channelId })
      emit({ type: 'error', channelId, error })
      return undefined
    }
  }

  /** Reads a channel's logs in `from..to`, in ranges of at most `maxBlockRange` blocks. */
  const readLogs = async (from: bigint, to: bigint, ids: readonly Hex[]): Promise<ChainLog[]> => {
    const out: ChainLog[] = []
    for (let a = from; a <= to; a += range) {
      const b = a + range - 1n < to ? a + range - 1n : to
      out.push(...(await chain.logs(a, b, ids)))
    }
    return out
  }

  /**
   * Builds a channel's view as of block `at`: its record there and, during a dispute, every log
   * since its latest co-signed state was registered (at `movesUntil - challengeDuration`: the
   * opening, or a later replacement), so the chain is known whole.
   * Hands the chain over (or reports it) once, as a fresh view of it.
   */
  const sync = async (entry: Entry, at: bigint): Promise<void> => {
    const { params, channelId } = entry.view
    let view = createChannelView(params)
    if (at >= 0n) {
      const rec = await chain.record(channelId, at)
      // Deposits before the dispute opened are not read again: the holdings start from the record.
      view = { ...view, holdings: rec.holdings }
      if (rec.status === 'disputed') {
        const opened = await findBlockAtTime(
          (n) => chain.blockTimestamp(n),
          rec.movesUntil - params.challengeDuration,
          at,
        )
        for (const log of await readLogs(opened, at, [channelId])) view = applyChainLog(view, log)
      }
      view = applyChannelRecord(view, rec).view
    }
    entry.view = {
      ...view,
      overwriteReported: entry.view.overwriteReported,
      missedReported: entry.view.missedReported,
    }
    entry.synced = true
    if (view.chain !== undefined && view.chain.moves.length > 0) {
      const { view: next, decisions } = decideAdoption(entry.view, await coSigned(view))
      entry.view = next
      await execute(entry, decisions, undefined)
    }
  }

  const coSigned = async (view: ChannelView): Promise<SignedState | undefined> => {
    const latest = await readStore(view.channelId)
    return isCoSigned(view.params, latest) ? latest : undefined
  }

  const execute = async (
    entry: Entry,
    decisions: readonly WatcherDecision[],
    head: { number: bigint; timestamp: bigint } | undefined,
  ): Promise<void> => {
    for (const d of decisions) {
      switch (d.type) {
        case 'adopt':
          if (opts.onForcedChain === undefined) break
          try {
            await opts.onForcedChain(d.chain)
          } catch (e) {
            const error = asChanvmError(e, 'onForcedChain failed', d.chain.channelId)
            emit({ type: 'error', channelId: d.chain.channelId, error })
          }
          break
        case 'report-overwrite':
          emit({
            type: 'overwrote',
            channelId: d.chain.channelId,
            chain: d.chain,
            latestVersion: d.latestVersion,
            reason: d.reason,
          })
          break
        case 'missed':
          if (autoRefute) emit(d)
          break
        case 'refute':
          if (autoRefute && head !== undefined) await refute(entry, d, head.timestamp)
          break
        case 'rebuild':
          if (head === undefined || entry.rebuiltFor === entry.view.stateHash) break
          entry.rebuiltFor = entry.view.stateHash
          await sync(entry, head.number)
          break
      }
    }
  }

  /** Registers the co-signed state, unless the newest record shows it no longer outranks what is held. */
  const refute = async (
    entry: Entry,
    d: Extract<WatcherDecision, { type: 'refute' }>,
    now: bigint,
  ): Promise<void> => {
    const { params, channelId } = entry.view
    try {
      const newest = await chain.record(channelId)
      // Refuted already (our registration awaits its confirmations), concluded, or reorganised away.
      if (newest.status !== 'disputed' || !outranksHeld(newest, d.signed.state.version)) return
      if (now >= newest.finalizesAt) {
        emit({
          type: 'missed',
          channelId,
          heldVersion: newest.version,
          latestVersion: d.signed.state.version,
        })
        return
      }
      const r = await register(client, { params, signed: d.signed })
      emit({
        type: 'refuted',
        channelId,
        staleVersion: newest.version,
        version: d.signed.state.version,
        txHash: r.hash,
      })
    } catch (e) {
      emit({ type: 'error', channelId, error: asChanvmError(e, 'refutation failed', channelId) })
    }
  }

  const emitLog = (view: ChannelView, log: ChainLog): void => {
    const { channelId, blockNumber, txHash } = log
    switch (log.type) {
      case 'Deposited':
        emit({
          type: 'deposited',
          channelId,
          participant: log.participant,
          amount: log.amount,
          deposited: log.deposited,
          holdings: log.holdings,
          blockNumber,
        })
        break
      case 'Registered':
        emit({
          type: 'registered',
          channelId,
          state: log.state,
          finalizesAt: log.finalizesAt,
          movesUntil: log.movesUntil,
          blockNumber,
          txHash,
        })
        break
      case 'Progressed': {
        const move = view.chain?.moves.at(-1) ?? {
          mover: log.mover,
          action: log.action,
          env: { blockNumber, timestamp: log.blockTimestamp },
          state: log.state,
        }
        emit({
          type: 'progressed',
          channelId,
          ...move,
          baseVersion: log.baseVersion,
          finalizesAt: log.finalizesAt,
          blockNumber,
          txHash,
          chain: view.chain,
        })
        break
      }
      case 'Concluded':
        emit({ type: 'concluded', channelId, version: log.version, payouts: log.payouts, blockNumber })
        break
    }
  }

  const handleLog = async (log: ChainLog): Promise<void> => {
    const entry = channels.get(key(log.channelId))
    if (entry === undefined || !entry.synced) return // a channel synced later reads its record as of then
    const latest = log.type === 'Progressed' ? await coSigned(entry.view) : undefined
    const { view, decisions } = reduceChannel(entry.view, { type: 'log', log }, latest)
    entry.view = view
    emitLog(view, log)
    await execute(entry, decisions, undefined)
  }

  /** Goes back to the newest kept block that is still canonical when the last one read is not. */
  const checkReorg = async (): Promise<void> => {
    const fork = await findForkPoint(kept, (n) => chain.blockHash(n))
    if (fork === 'unchanged') return
    const oldest = kept[0]
    const common = fork?.number ?? (oldest === undefined ? 0n : oldest.number - 1n)
    kept = kept.filter((b) => b.number <= common)
    const replacedFrom = common + 1n
    cursor = replacedFrom
    for (const entry of channels.values()) {
      entry.synced = false
      entry.rebuiltFor = undefined
    }
    emit({ type: 'reorg', commonBlock: common, replacedFrom })
  }

  const pollOnce = async (): Promise<void> => {
    try {
      await checkReorg()
      const head = await chain.head()
      if (down) {
        down = false
        emit({ type: 'rpc-up' })
      }
      const safe = head.number - confirmations
      if (safe < 0n) return
      cursor ??= opts.fromBlock ?? safe
      for (const entry of channels.values()) if (!entry.synced) await sync(entry, cursor - 1n)
      for (let from: bigint = cursor; from <= safe; from = cursor) {
        const to = from + range - 1n < safe ? from + range - 1n : safe
        // The hash is read before the logs: a reorganisation in between shows as a changed hash next poll.
        const hash = to === head.number ? head.hash : await chain.blockHash(to)
        if (hash === undefined) return // the chain just got shorter: the next poll sees it
        const ids = [...channels.values()].map((c) => c.view.channelId)
        for (const log of await chain.logs(from, to, ids)) await handleLog(log)
        kept.push({ number: to, hash })
        if (kept.length > keep) kept = kept.slice(-keep)
        cursor = to + 1n
      }
      const at = cursor - 1n
      for (const entry of channels.values()) {
        if (!entry.synced || entry.view.status !== 'disputed') continue
        const record = await chain.record(entry.view.channelId, at)
        const latest = await coSigned(entry.view)
        const { view, decisions } = reduceChannel(
          entry.view,
          { type: 'record', record, now: head.timestamp },
          latest,
        )
        entry.view = view
        await execute(entry, decisions, { number: at, timestamp: head.timestamp })
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
      if (existing !== undefined) return existing.view
      const entry: Entry = { view: createChannelView(params), synced: false, rebuiltFor: undefined }
      channels.set(key(channelId), entry)
      return entry.view
    },
    unwatch(channelId) {
      channels.delete(key(channelId))
    },
    channel(channelId) {
      return channels.get(key(channelId))?.view
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
    checkpoint() {
      return { cursor, blocks: [...kept] }
    },
    async forceProgress(channelId, step) {
      const entry = channels.get(key(channelId))
      if (entry === undefined) {
        throw new ChanvmError('CHANNEL_NOT_FOUND', 'the watcher does not watch this channel', { channelId })
      }
      const signer = opts.signer
      if (signer === undefined) {
        throw new ChanvmError('CONFIG', 'forceProgress needs the watcher to have a signer', { channelId })
      }
      const { params } = entry.view
      const me = signer.address.toLowerCase()
      const mover = step.mover ?? BigInt(params.participants.findIndex((p) => p.toLowerCase() === me))
      if (mover < 0n)
        throw new ChanvmError('NOT_PARTICIPANT', 'the signer is not a participant', { channelId })
      const rec = await chain.record(channelId)
      const latest = await store.getLatestSignedState(channelId)
      let from: State
      let fromSignatures: readonly Hex[] = []
      const held = entry.view.held
      if (isCoSigned(params, latest) && outranksHeld(rec, latest.state.version)) {
        from = latest.state
        fromSignatures = latest.signatures
      } else if (
        rec.status === 'disputed' &&
        held !== undefined &&
        bytesToHex(hashStateStruct(held)) === rec.stateHash
      ) {
        from = held
      } else {
        throw new ChanvmError(
          'STALE_VERSION',
          'no base state to force progress on: the state held is unknown and no co-signed state outranks it',
          { channelId },
        )
      }
      const moverSignature = await signer.signDigest(hashMove(params, from, mover, step.action))
      const r = await forceProgressTx(client, {
        params,
        from,
        fromSignatures,
        mover,
        action: step.action,
        moverSignature,
        ...(step.appAbi === undefined ? {} : { appAbi: step.appAbi }),
      })
      // Our own forced step reaches the view and onForcedChain through the logs, like anyone's;
      // poll until it is in (a poll already running may have read an older head).
      for (let i = 0; i < 3 && (channels.get(key(channelId))?.view.version ?? 0n) < r.state.version; i++)
        await poll()
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

function asChanvmError(e: unknown, action: string, channelId: Hex | undefined): ChanvmError {
  return toAdjudicatorError(e, { action, ...(channelId === undefined ? {} : { channelId }) })
}
