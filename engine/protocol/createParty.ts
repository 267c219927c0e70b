import { keccak256, type Hex } from 'viem'
import { signerOnPool } from '../crypto/createKeySigner.ts'
import { ChanvmError } from '../errors.ts'
import { createDispatcher } from './createDispatcher.ts'
import { createTurnGate } from './createTurnGate.ts'
import { createExecutor } from './createExecutor.ts'
import { guardStore } from './guardStore.ts'
import { baseOf, lower, machinePhase, type ChannelMachine } from './machine.ts'
import { onDisputed } from './onDisputed.ts'
import { onForcedChain } from './onForcedChain.ts'
import { onFunding } from './onFunding.ts'
import { onResync } from './onResync.ts'
import { openChannel } from './openChannel.ts'
import { channelOf, type PartyContext } from './partyContext.ts'
import { runLocal } from './runLocal.ts'
import type { AppCode, FundingResult, Party, PartyOptions } from './types.ts'
import { updateChannel, waitForVersion } from './updateChannel.ts'

export type {
  AdoptResult,
  AppCode,
  FundingResult,
  Party,
  PartyEvent,
  PartyOptions,
  ProposedStep,
  RefusalReason,
  UpdateResult,
} from './types.ts'

/**
 * Creates a party: one participant's side of the off-chain update protocol (docs/protocol.md).
 *
 * Each channel is plain data ({@link ChannelMachine}, its phase from `machinePhase`); one handler
 * per message (`onOpen`, `onPropose`, `onAccept`, `onReject`, `onCommit`, `onSync`) and per local
 * action (`onNewChannel`, `startOpen`, `onMove`/`onVerdict`, `onFunding`, `onForcedChain`, `onDisputed`, `onResync` at start-up) asks the
 * pure rules (`decide*`) and has the executor ({@link createExecutor}) carry out what they decide;
 * the executor alone holds the signer, the store and the transport. Every message and local
 * action of a channel runs through one queue, one at a time; channels do not wait on each other.
 * A signature leaves the party only through a `recordAndSign` effect, after it is durably
 * recorded. The transport handler
 * resolves once whatever a message made the party store is on disk. Channels already in `store`
 * are loaded at start: `onResync` re-sends each one's latest co-signed state to the others and asks
 * for a commit it lacks.
 *
 * @example
 * ```ts
 * const alice = await createParty({ signer: createKeySigner(key), transport: hub.connect(address), store, sandbox, apps: [escrowApp] })
 * await alice.open(params, initialState)
 * await alice.confirmFunding(channelId, await getDeposits(client, channelId, params.participants))
 * const r = await alice.update(channelId, escrowActions.fund(10n, deadline))
 * ```
 */
export async function createParty(options: PartyOptions): Promise<Party> {
  try {
    return await startParty(options)
  } catch (e) {
    // A party that failed to start ends its crypto pool as its close would.
    await options.cryptoPool?.close()
    throw e
  }
}

async function startParty(options: PartyOptions): Promise<Party> {
  const { transport, cryptoPool } = options
  const signer = cryptoPool === undefined ? options.signer : signerOnPool(options.signer, cryptoPool)
  const store = guardStore(options.store)
  if (lower(transport.self) !== lower(signer.address)) {
    throw new ChanvmError('CONFIG', `transport is for ${transport.self}, the signer is ${signer.address}`)
  }
  const gate = createTurnGate(options.messagesPerTurn ?? 8)
  const timeoutMs = options.responseTimeoutMs ?? 10_000
  const requireFunding = options.requireFunding ?? true
  const apps = new Map<string, AppCode>()
  for (const a of options.apps) apps.set(lower(keccak256(a.code)), a)
  const ctx: PartyContext = {
    io: createExecutor({
      signer,
      store,
      transport,
      sandbox: options.sandbox,
      clock: options.clock ?? (() => ({ blockNumber: 0n, timestamp: BigInt(Math.floor(Date.now() / 1000)) })),
      freshClock: options.freshClock,
      tolerance: options.envTolerance ?? { blocks: 10n, seconds: 60n },
      timeoutMs,
      onEvent: options.onEvent,
      approve: options.approve,
      isClosed: () => ctx.closed,
      cryptoPool,
    }),
    options,
    channels: new Map<string, ChannelMachine>(),
    apps,
    timeoutMs,
    maxRetries: options.maxRetries ?? 3,
    closed: false,
  }
  const { io, channels } = ctx

  // Fail at start on a store that cannot write, not at the first signature.
  await io.probeWrite()
  for (const ch of await io.loadChannels(apps, requireFunding)) {
    // Signing as someone else would have every accept refused and leave the channel unguarded.
    const me = ch.params.participants[ch.myIndex]
    if (me === undefined || lower(me) !== lower(signer.address))
      throw new ChanvmError(
        'NOT_PARTICIPANT',
        `the store holds channel ${ch.id} as participant ${ch.myIndex} (${me ?? 'none'}), not as the signer ${signer.address}`,
        { channelId: ch.id },
      )
    channels.set(ch.key, ch)
  }

  const { dispatch, releaseHeld, dropHeld } = createDispatcher(ctx, gate)
  // Re-sync at start-up, on each channel's queue (docs/protocol.md, "Re-sync"): the latest
  // co-signed state to the others again, and a request for a commit this party signed but lacks.
  // Queued before the party listens, so that it comes first on every queue: a message delivered at
  // once (a persistent session's backlog) whose handler waits (an `approve` asking someone) holds
  // up neither the start nor the other channels' re-sync.
  const resyncs = [...channels.values()].map((ch) => io.rt.serial(ch, () => io.handle(ch, onResync, {})))
  const unsubscribe = io.listen(dispatch)
  try {
    await Promise.all(resyncs)
  } catch (e) {
    // A party that failed to start neither handles messages nor keeps timers.
    ctx.closed = true
    unsubscribe()
    dropHeld()
    io.rt.stopTimers()
    await Promise.allSettled(resyncs)
    throw e
  }

  const confirmFunding = async (channelId: Hex, deposited: readonly bigint[]): Promise<FundingResult> =>
    runLocal(ctx, channelOf(ctx, channelId), 'funding', onFunding, { deposited })

  const markDisputed = async (channelId: Hex): Promise<void> => {
    const ch = channelOf(ctx, channelId)
    // Refused at once, before the queue reaches the mark and its record is on disk (and even if it
    // cannot be written): the flag is set here, outside the queue (the executor keeps it when a
    // handler in progress takes its machine), and a proposal in flight hears its verdict now.
    const first = !ch.disputed
    ch.disputed = true
    if (ch.pending !== undefined) io.rt.resolve(ch.pending.id, { verdict: 'disputed' })
    await io.rt.serial(ch, () => io.handle(ch, onDisputed, { first }))
  }

  /** The channel as the world may see it: its latest co-signed state only once durable. */
  const shown = (ch: ChannelMachine): ChannelMachine => ({ ...ch, latest: io.rt.shownLatest(ch) })

  return {
    address: signer.address,
    open: (params, initial) => openChannel(ctx, params, initial, releaseHeld),
    confirmFunding,
    update: (channelId, action, opts = {}) => {
      // Counted as the channel's work in flight: a crypto pool offloads while several channels work.
      const done = typeof channelId === 'string' ? cryptoPool?.busy(lower(channelId)) : undefined
      const r = updateChannel(ctx, channelId, action, opts)
      return done === undefined ? r : r.finally(done)
    },
    waitForVersion: (channelId, version, ms = timeoutMs) => waitForVersion(ctx, channelId, version, ms),
    adoptForcedChain: (chain) =>
      runLocal(ctx, channelOf(ctx, chain.channelId), 'adoption', onForcedChain, { chain }),
    markDisputed,
    base: async (channelId) => baseOf(shown(channelOf(ctx, channelId)))?.state,
    phase: (channelId) => machinePhase(shown(channelOf(ctx, channelId))),
    latest: async (channelId) => io.rt.shownLatest(channelOf(ctx, channelId)),
    stats: () => io.stats(),
    async close() {
      ctx.closed = true
      unsubscribe()
      dropHeld()
      io.rt.stopTimers()
      for (const ch of channels.values())
        if (ch.pending !== undefined)
          io.rt.resolve(ch.pending.id, { verdict: { ok: false, reason: 'peer-timeout', missing: [] } })
      // Let what is queued finish (it may still write to the store), within reason.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled(io.rt.queues()),
        new Promise((res) => (timer = setTimeout(res, timeoutMs))),
      ])
      clearTimeout(timer)
      await cryptoPool?.close()
    },
  }
}
