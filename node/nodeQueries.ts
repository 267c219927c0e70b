// A node's queries: one channel's record and summary (the chain's record read live, bounded, or
// the watcher's view), the list of channels, the journal's views and the counters.
import type { Hex } from 'viem'
import { getChannelRecord } from '../engine/adjudicator/getChannelRecord.ts'
import { getWithdrawable } from '../engine/adjudicator/getWithdrawable.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { ChannelRecord } from '../engine/store/types.ts'
import { channelStatus } from './channelStatus.ts'
import type { NodeContext } from './nodeContext.ts'
import type { ChannelSummary, ChanvmNode, NodeMetrics } from './types.ts'

const HEX32 = /^0x[0-9a-fA-F]{64}$/
/** The longest a read (`show`) waits for the chain before it answers from what the node knows. */
const LIVE_READ_MS = 2_000
/** How many channel records `list` reads from the chain at once. */
const LIST_READS_AT_ONCE = 16

/** What {@link createNodeQueries} needs from the node. */
export type NodeQueriesContext = Pick<
  NodeContext,
  | 'address'
  | 'client'
  | 'store'
  | 'party'
  | 'watcher'
  | 'journal'
  | 'appOf'
  | 'cancelled'
  | 'counters'
  | 'log'
  | 'rpcUrl'
  | 'chainTimeoutMs'
  | 'chainHealth'
  | 'setUp'
  | 'chainCall'
  | 'chainView'
  | 'ensureOpen'
>

/** The node's queries (`journal`, `list`, `show`, `metrics`) and the record and summary the other parts use. */
export function createNodeQueries(ctx: NodeQueriesContext) {
  const { address, client, store, party, watcher, journal, appOf, cancelled, counters, log, rpcUrl } = ctx
  const { chainTimeoutMs, chainHealth, setUp, chainCall, chainView, ensureOpen } = ctx
  const checkId = (channelId: Hex) => {
    if (typeof channelId !== 'string' || !HEX32.test(channelId))
      throw new ChanvmError('INVALID_ARGUMENT', `not a channel id (32 bytes of hex): ${String(channelId)}`)
  }
  // A channel's record (its id, params and this node's index) never changes once stored, so it is
  // read from the store once: a read per step would commit the turn's queued writes early (a
  // store read commits what is queued) and parse the params again.
  const records = new Map<string, ChannelRecord>()
  const recordOf = async (channelId: Hex) => {
    checkId(channelId)
    const known = records.get(channelId.toLowerCase())
    if (known !== undefined) return known
    const rec = await store.getChannel(channelId)
    if (rec === undefined)
      throw new ChanvmError('CHANNEL_NOT_FOUND', 'this node holds no such channel', { channelId })
    records.set(channelId.toLowerCase(), rec)
    return rec
  }
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
  const queries: Required<Pick<ChanvmNode, 'journal' | 'list' | 'show' | 'metrics'>> = {
    journal: {
      timeline: async (channelId) => journal.timeline(await recordOf(channelId)),
      inputs: () => journal.inputs(),
      health: () => journal.health(),
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
    metrics(): NodeMetrics {
      return {
        ...counters,
        refusals: { ...counters.refusals },
        readings: { ...counters.readings },
      }
    },
  }
  return { recordOf, summarize, ...queries }
}
