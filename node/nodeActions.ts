// A node's actions: `open` (the app's code checked on chain, conflicts refused, the deposit made
// and the funding awaited), `cancelOpen` and `act` (a step proposed to the counterparty).
import type { Hex } from 'viem'
import { keccak256 } from 'viem'
import { deposit } from '../engine/adjudicator/deposit.ts'
import { getChannelRecord } from '../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../engine/adjudicator/getDeposits.ts'
import type { ChannelParams, State } from '../engine/channel/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import { actionToCalldata } from './actionToCalldata.ts'
import { writeCancelledOpens } from './cancelledOpensFile.ts'
import type { NodeContext } from './nodeContext.ts'
import { openRequestDifferences } from './openRequestDifferences.ts'
import { requestToChannel } from './requestToChannel.ts'
import type { ChannelSummary, ChanvmNode, OpenRequest } from './types.ts'

/** What {@link createNodeActions} needs from the node. */
export type NodeActionsContext = Pick<
  NodeContext,
  | 'config'
  | 'address'
  | 'chainId'
  | 'client'
  | 'store'
  | 'party'
  | 'watcher'
  | 'registry'
  | 'appOf'
  | 'book'
  | 'journal'
  | 'head'
  | 'cancelled'
  | 'cancelledPath'
  | 'emit'
  | 'note'
  | 'counters'
  | 'depositWaiters'
  | 'unsigned'
  | 'isClosing'
  | 'ensureOpen'
  | 'brokerUrl'
  | 'brokerHealth'
  | 'statusSource'
  | 'pollingIntervalMs'
  | 'fundingTimeoutMs'
  | 'confirmFunding'
  | 'phaseOf'
  | 'recordOf'
  | 'summarize'
>

/** The node's `open`, `cancelOpen` and `act`. */
export function createNodeActions(ctx: NodeActionsContext): Pick<ChanvmNode, 'open' | 'cancelOpen' | 'act'> {
  const { config, address, chainId, client, store, party, watcher, registry, appOf, book } = ctx
  const { journal, head, cancelled, cancelledPath, emit, note, counters, depositWaiters } = ctx
  const { unsigned, isClosing, ensureOpen, brokerUrl, brokerHealth, statusSource } = ctx
  const { pollingIntervalMs, fundingTimeoutMs, confirmFunding, phaseOf, recordOf, summarize } = ctx
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
      throw new ChanvmError('OPEN_CONFLICT', 'this open was cancelled: open the channel with another nonce', {
        channelId,
      })
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
      if (isClosing()) throw new ChanvmError('TRANSPORT_CLOSED', 'the node closed', { channelId })
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
  return {
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
          (held === undefined || fresh.blockNumber !== held.blockNumber || fresh.timestamp !== held.timestamp)
        )
          r = await party.update(rec.channelId, calldata)
      }
      if (r.ok) {
        unsigned.delete(rec.channelId.toLowerCase())
        const step = { version: r.signed.state.version, mover: rec.myIndex, calldata, gasUsed: r.gasUsed }
        journal.noteOwnStep(rec.channelId, step)
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
  }
}
