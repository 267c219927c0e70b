// A node's watcher: what its events do to the party, the counters and the deposit waiters, its
// place saved in the data folder and resumed on start, and the start-up re-sync (every stored
// channel watched again, funding confirmed for those still in funding).
import type { Hex } from 'viem'
import type { ChannelParams } from '../engine/channel/types.ts'
import { getDeposits } from '../engine/adjudicator/getDeposits.ts'
import { createWatcher } from '../engine/watcher/createWatcher.ts'
import type { WatcherEvent } from '../engine/watcher/types.ts'
import type { NodeContext } from './nodeContext.ts'
import {
  readWatcherCheckpoint,
  writeWatcherCheckpoint,
  type CheckpointScope,
} from './watcherCheckpointFile.ts'

/** What {@link startWatch} needs from the node. */
export type NodeWatchContext = Pick<
  NodeContext,
  | 'config'
  | 'client'
  | 'store'
  | 'signer'
  | 'party'
  | 'pollingIntervalMs'
  | 'checkpointIntervalMs'
  | 'note'
  | 'emit'
  | 'counters'
  | 'inDispute'
  | 'depositWaiters'
  | 'closers'
> & {
  /** The file in the data folder where the watcher's place is kept, and whose chain it is. */
  checkpointPath: string
  scope: CheckpointScope
}

/**
 * Starts the watcher and the timer that saves its place (closers for both pushed on
 * `ctx.closers`), after watching every stored channel again.
 */
export async function startWatch(ctx: NodeWatchContext) {
  const { config, client, store, signer, party, pollingIntervalMs, note, emit, counters } = ctx
  const { inDispute, depositWaiters, closers, checkpointPath, scope } = ctx
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
      if (!saveFailed) note(`cannot save the watcher's place: ${e instanceof Error ? e.message : String(e)}`)
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
  const timer = setInterval(saveCheckpoint, ctx.checkpointIntervalMs)
  timer.unref()
  closers.push(async () => clearInterval(timer))
  for (const rec of stored) fundInBackground(rec.channelId, rec.params)
  return { watcher, saveCheckpoint, timer, confirmFunding, phaseOf }
}
