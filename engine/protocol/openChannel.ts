import type { Hex } from 'viem'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, SignedState, State } from '../channel/types.ts'
import { paramsToWire, stateToWire } from '../channel/wire.ts'
import { ChanvmError } from '../errors.ts'
import type { PeerMessage } from '../transport/types.ts'
import { createChannelMachine, lower, others, serial, type ChannelMachine } from './machine.ts'
import { digestOf } from './messageChecks.ts'
import { completeOpen } from './onOpen.ts'
import type { PartyContext } from './partyContext.ts'
import { withTimeout } from './partyErrors.ts'

/**
 * `Party.open`: holds the channel (recorded), signs its initial state (record first), sends it in
 * an `open` to the others, then hands over the peers' opens held for it (`releaseHeld`). Resolves
 * with the co-signed initial state once every participant's signature is in.
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
  let ch = ctx.channels.get(lower(channelId))
  if (ch?.latest !== undefined) return ch.latest
  if (ch === undefined) {
    await io.saveChannel({ channelId, params, myIndex })
    const funded = ctx.options.requireFunding === false || (await io.fundingOf(channelId)) !== undefined
    ch = createChannelMachine({ id: channelId, params, myIndex, app, funded })
    ctx.channels.set(ch.key, ch)
  }
  const c = ch
  const late = () =>
    new ChanvmError('PEER_TIMEOUT', 'not every participant signed the initial state in time', { channelId })
  if (c.openResult !== undefined) return withTimeout(c.openResult, ctx.timeoutMs * 3, late)
  // The section only starts the open (a wrapped promise, so the queue does not wait for the peers).
  const started = serial(c, () => startOpen(ctx, c, channelId, params, initial))
  const result = started.then((s) => s.signed)
  c.openResult = result
  result.catch(() => {
    if (c.openResult === result) c.openResult = undefined
  })
  releaseHeld(c.key)
  return withTimeout(result, ctx.timeoutMs * 3, late)
}

async function startOpen(
  ctx: PartyContext,
  c: ChannelMachine,
  channelId: Hex,
  params: ChannelParams,
  initial: State,
): Promise<{ signed: Promise<SignedState> }> {
  const { io } = ctx
  if (c.latest !== undefined) return { signed: Promise.resolve(c.latest) }
  const digest = digestOf(c, initial)
  const signed = new Promise<SignedState>((resolve) => {
    const sigs =
      c.opening !== undefined && lower(c.opening.digest) === lower(digest)
        ? c.opening.sigs
        : new Map<string, Hex>()
    c.opening = { digest, state: initial, sigs, done: resolve }
  })
  const r = await io.recordThenSign(c, { channelId, version: 0n, digest, state: initial })
  if (!r.ok) {
    c.opening = undefined
    throw new ChanvmError('CONFLICTING_SIGNATURE', 'this party signed a different initial state', {
      channelId,
    })
  }
  c.opening?.sigs.set(lower(io.address), r.sig)
  const msg: PeerMessage = {
    type: 'open',
    channelId,
    from: io.address,
    params: paramsToWire(params),
    state: stateToWire(initial),
    sig: r.sig,
  }
  for (const to of others(c)) io.send(to, msg)
  await completeOpen(ctx, c)
  return { signed }
}
