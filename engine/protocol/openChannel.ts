import type { Hex } from 'viem'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, SignedState, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import { decided, type Handled } from './effects.ts'
import { createChannelMachine, lower, type ChannelMachine } from './machine.ts'
import { digestOf } from './messageChecks.ts'
import { onNewChannel } from './onNewChannel.ts'
import type { PartyContext } from './partyContext.ts'
import { withTimeout } from './partyErrors.ts'

/**
 * `Party.open`: holds the channel (recorded first, {@link onNewChannel}), signs its initial state
 * (record first, {@link startOpen}), sends it in
 * an `open` to the others, then hands over the peers' opens held for it (`releaseHeld`). Resolves
 * with the co-signed initial state once every participant's signature is in and it is durable;
 * rejects with `STORE_ERROR` when its sync failed, with `PEER_TIMEOUT` after 3 × the response
 * time, and then keeps nothing waiting for it.
 *
 * @example
 * ```ts
 * const signed = await openChannel(ctx, params, initial, releaseHeld)
 * ```
 */
export async function openChannel(
  ctx: PartyContext,
  params: ChannelParams,
  initial: State,
  releaseHeld: (channelKey: string) => void,
): Promise<SignedState> {
  const { io } = ctx
  const channelId = getChannelId(params)
  const myIndex = params.participants.findIndex((a) => lower(a) === lower(io.address))
  if (myIndex < 0)
    throw new ChanvmError('NOT_PARTICIPANT', `${io.address} is not a participant`, { channelId })
  if (lower(initial.channelId) !== lower(channelId))
    throw new ChanvmError('INVALID_ARGUMENT', 'initial state is for another channel', { channelId })
  if (initial.version !== 0n)
    throw new ChanvmError('INVALID_ARGUMENT', 'the initial state has version 0', { channelId })
  if (initial.balances.length !== params.participants.length)
    throw new ChanvmError('INVALID_ARGUMENT', 'one balance per participant', { channelId })
  const app = ctx.apps.get(lower(params.appCodeHash))
  if (app === undefined)
    throw new ChanvmError(
      'APP_CODE_MISMATCH',
      `no app with code hash ${params.appCodeHash} is registered with this party`,
    )
  const late = () =>
    new ChanvmError('PEER_TIMEOUT', 'not every participant signed the initial state in time', { channelId })
  let ch = ctx.channels.get(lower(channelId))
  if (ch?.latest !== undefined) {
    // Co-signed already: handed out once durable (a failed sync is the store's error).
    const held = ch
    const shown = await withTimeout(
      io.rt.durableOf(held).then(() => io.rt.shownLatest(held)),
      ctx.timeoutMs * 3,
      late,
    )
    if (shown !== undefined) return shown
  }
  if (ch === undefined) {
    // Held only once its record is written: until then a message for it finds no channel.
    const fresh = createChannelMachine({ id: channelId, params, myIndex, app, funded: false })
    const requireFunding = ctx.options.requireFunding !== false
    await io.rt.serial(fresh, () => io.handle(fresh, onNewChannel, { requireFunding }))
    ch = ctx.channels.get(fresh.key) ?? fresh
    ctx.channels.set(ch.key, ch)
  }
  const c = ch
  const running = io.rt.of(c).openResult
  if (running !== undefined) return withTimeout(running, ctx.timeoutMs * 3, late)
  // The section only starts the open (the queue does not wait for the peers): the result comes in
  // a `resolve` effect under the initial state's digest, when every participant signed it.
  const digest = digestOf(c, initial)
  const ended = io.rt.expect(digest, 'open')
  // Given up, the open stops waiting for its end, and so for a failed sync (raceFailure's listener).
  let giveUp: () => void = () => undefined
  const givenUp = new Promise<never>((_, reject) => (giveUp = () => reject(late())))
  givenUp.catch(() => undefined)
  const result = io.rt
    .serial(c, () => io.handle(c, startOpen, initial))
    // The end waits in the outbox for the initial state's sync: a failed sync never hands it over.
    .then(() => io.rt.raceFailure(c, Promise.race([ended, givenUp])))
    .then((r): SignedState => {
      if ('opened' in r) return r.opened
      throw new ChanvmError('CONFLICTING_SIGNATURE', 'this party signed a different initial state', {
        channelId,
      })
    })
  io.rt.of(c).openResult = result
  result.catch(() => {
    if (io.rt.of(c).openResult === result) io.rt.of(c).openResult = undefined
  })
  releaseHeld(c.key)
  return withTimeout(result, ctx.timeoutMs * 3, () => {
    // Given up: nobody waits for this open any more (its end, should it come, finds no one), and
    // the next `open` starts it again, sending this party's open once more.
    giveUp()
    if (io.rt.of(c).openResult === result) {
      io.rt.of(c).openResult = undefined
      io.rt.forget(digest)
    }
    return late()
  })
}

/**
 * The start of an open: this party signs the initial state (record first; `onSigned` then sends
 * it in an `open` and completes the open when the peers' signatures are in), unless the channel
 * is co-signed already.
 *
 * @example
 * ```ts
 * await io.handle(ch, startOpen, initial)
 * ```
 */
export function startOpen(c: ChannelMachine, initial: State, _f: object): Handled<object> {
  const digest = digestOf(c, initial)
  if (c.latest !== undefined)
    return decided(c, [{ kind: 'resolve', id: digest, value: { opened: c.latest } }])
  const sigs =
    c.opening !== undefined && lower(c.opening.digest) === lower(digest)
      ? c.opening.sigs
      : new Map<string, Hex>()
  const record = { channelId: c.id, version: 0n, digest, state: initial }
  return decided({ ...c, opening: { digest, state: initial, sigs } }, [
    { kind: 'recordAndSign', record, then: { for: 'open' } },
  ])
}
