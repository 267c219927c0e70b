import { prefetchRecoveries } from '../crypto/recoveryMemo.ts'
import { ChanvmError } from '../errors.ts'
import type { PeerMessage } from '../transport/types.ts'
import { lower, type Msg } from './machine.ts'
import { onAccept } from './onAccept.ts'
import { onCommit } from './onCommit.ts'
import { onOpen } from './onOpen.ts'
import { onPropose } from './onPropose.ts'
import { onReject } from './onReject.ts'
import { onSync } from './onSync.ts'
import type { TurnGate } from './createTurnGate.ts'
import type { PartyContext } from './partyContext.ts'
import { describe, isStoreError } from './partyErrors.ts'

/** A message for a channel this party has not opened yet, kept until it does (or a time limit). */
type Held = { m: Msg<'open'>; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

const MESSAGE_TYPES = new Set(['open', 'propose', 'accept', 'reject', 'commit', 'sync'])

/**
 * The (digest, signature) pairs a message names that its handler recovers: an `accept`'s, a
 * `commit`'s but this party's own (at `myIndex`, which it compares with what it handed out), and
 * none of a commit whose signatures are not one per participant (`participants`): its handler
 * refuses it before recovering any, so a commit with thousands of signatures costs nothing here.
 * The handler still takes the digest of what the message carries and recovers over that: a
 * verdict over a digest the message misnames is never asked for.
 */
export const signedPairs = (
  m: PeerMessage,
  myIndex: number,
  participants: number,
): (readonly [unknown, unknown])[] =>
  m.type === 'accept'
    ? [[m.digest, m.sig]]
    : m.type === 'commit' && Array.isArray(m.sigs) && m.sigs.length === participants
      ? (m.sigs as unknown[]).flatMap((sig, i) => (i === myIndex ? [] : [[m.digest, sig] as const]))
      : []
const MAX_HELD_PER_CHANNEL = 16
const MAX_HELD = 256

/**
 * The switch that hands each message to its handler (`onOpen`, `onPropose`, `onAccept`,
 * `onReject`, `onCommit`, `onSync`), through the executor (`io.handle`) on the channel's queue, and the `open`s held for channels not
 * opened here yet.
 *
 * @example
 * ```ts
 * const { dispatch, releaseHeld } = createDispatcher(ctx, createTurnGate(8))
 * const unsubscribe = io.listen(dispatch)
 * ```
 */
export function createDispatcher(ctx: PartyContext, gate: TurnGate) {
  const { io } = ctx
  const held = new Map<string, Held[]>()
  let heldCount = 0

  /** Keeps an `open` for a channel not opened here yet; its promise settles when it is handled or given up. */
  const hold = (m: Msg<'open'>): Promise<void> => {
    const ch = ctx.channels.get(lower(m.channelId))
    if (ch !== undefined && (io.rt.of(ch).openResult !== undefined || ch.latest !== undefined))
      return dispatch(m)
    const list = held.get(lower(m.channelId)) ?? []
    if (list.length >= MAX_HELD_PER_CHANNEL || heldCount >= MAX_HELD)
      return Promise.resolve(io.drop('unknown-channel', `too many opens held for channels not opened here`))
    held.set(lower(m.channelId), list)
    heldCount++
    return new Promise<void>((resolve, reject) => {
      const h: Held = {
        m,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = list.indexOf(h)
          if (i >= 0) {
            list.splice(i, 1)
            heldCount--
          }
          // Dropped, not left unacknowledged: a redelivered open would only be held again and
          // fill the broker's in-flight window. The opener still completes: this party's own open
          // (when it opens) is answered with the co-signed state.
          io.drop('unknown-channel', `an open for ${m.channelId} not opened here in time`)
          resolve()
        }, ctx.timeoutMs * 3),
      }
      h.timer.unref()
      list.push(h)
    })
  }
  const releaseHeld = (channelKey: string) => {
    const list = held.get(channelKey)
    if (list === undefined) return
    held.delete(channelKey)
    for (const h of list) {
      heldCount--
      clearTimeout(h.timer)
      dispatch(h.m).then(h.resolve, h.reject)
    }
  }
  /** Ends every held open (the party closes): they stay unacknowledged. */
  const dropHeld = () => {
    for (const key of [...held.keys()]) {
      for (const h of held.get(key) ?? []) {
        clearTimeout(h.timer)
        h.reject(new ChanvmError('TRANSPORT_CLOSED', 'the party is closed', { channelId: h.m.channelId }))
      }
      held.delete(key)
    }
    heldCount = 0
  }

  /**
   * Hands one message to its handler on the channel's queue. Resolves once whatever the message
   * made the party store is durable, and every co-signed state the channel holds with it
   * (malformed and forged messages resolve: there is nothing to redeliver, and so do messages for
   * a channel this party does not hold); rejects on a store error, a failed disk sync too, so that
   * the transport does not acknowledge it. The channel's next message does not wait for the sync
   * of a co-signed state, only for its write (see `run` in `createExecutor`). `gate` lets a
   * window of messages start (`messagesPerTurn`, see `createTurnGate`); the others wait, in order.
   */
  const dispatch = async (m: PeerMessage): Promise<void> => {
    const turn = gate()
    if (turn !== undefined) await turn
    if (ctx.closed) throw new ChanvmError('TRANSPORT_CLOSED', 'the party is closed')
    const t = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined
    if (
      typeof m !== 'object' ||
      m === null ||
      typeof m.channelId !== 'string' ||
      typeof t !== 'string' ||
      !MESSAGE_TYPES.has(t)
    ) {
      return io.drop('malformed', `malformed message or unknown type ${JSON.stringify(t)}`)
    }
    const ch = ctx.channels.get(lower(m.channelId))
    if (
      m.type === 'open' &&
      (ch === undefined || (io.rt.of(ch).openResult === undefined && ch.latest === undefined))
    )
      return hold(m)
    // A message for a channel this party does not hold is acknowledged and dropped: left
    // unacknowledged it would be redelivered for ever and hold a slot of the broker's in-flight
    // window. Nothing is lost by it: a peer's later open is answered with the latest commit, and
    // proposals and sync requests are sent again.
    if (ch === undefined) return io.drop('unknown-channel', `no channel ${m.channelId} here`)
    const run = async (): Promise<void> => {
      switch (m.type) {
        case 'open':
          return io.handle(ch, onOpen, m)
        case 'propose':
          return io.handle(ch, onPropose, m)
        case 'accept':
          return io.handle(ch, onAccept, m)
        case 'reject':
          return io.handle(ch, onReject, m)
        case 'commit':
          return io.handle(ch, onCommit, m)
        case 'sync':
          return io.handle(ch, onSync, m)
      }
    }
    const storeError = (e: unknown) => {
      if (!io.refusedForStore(e as object)) io.count('store-error') // a refusal counted it already
      io.emit({ type: 'store-error', channelId: ch.id, message: describe(e) })
    }
    // With a crypto pool: the message counts as work in flight until handled, and the recoveries
    // of the signatures it carries start now, on a thread when others are in flight; its handler
    // waits for them on the channel's queue, in its turn, and finds their verdicts remembered.
    const pool = ctx.options.cryptoPool
    const done = pool?.busy(ch.key)
    const prefetched =
      pool === undefined
        ? undefined
        : prefetchRecoveries(pool, signedPairs(m, ch.myIndex, ch.params.participants.length))
    const handled = await io.rt.serial(ch, async () => {
      try {
        if (prefetched !== undefined) await prefetched
        await run()
      } catch (e) {
        if (isStoreError(e)) {
          storeError(e)
          throw e
        }
        io.drop('malformed', (e as Error).message)
      } finally {
        done?.()
      }
      // The channel's queue goes on once the message's co-signed state is written; its
      // acknowledgement waits until it (and whatever the channel wrote before) is durable.
      return { durable: io.rt.durableOf(ch) }
    })
    try {
      await handled.durable
    } catch (e) {
      if (isStoreError(e)) storeError(e)
      throw e
    }
  }
  return { dispatch, releaseHeld, dropHeld }
}
