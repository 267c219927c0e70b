import type { Hex } from 'viem'
import { stateToWire } from '../channel/wire.ts'
import type { Env, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import { finishOwn } from './finishOwn.ts'
import {
  baseOf,
  lower,
  others,
  serial,
  withdraw,
  type ChannelMachine,
  type Msg,
  type Outcome,
  type Pending,
} from './machine.ts'
import { digestOf, envToWire } from './messageChecks.ts'
import type { PartyContext } from './partyContext.ts'
import { disputedError } from './partyErrors.ts'
import type { UpdateResult } from './types.ts'

/** One proposal's result; `lost` and `retry` ask {@link updateChannel} to try again on the newer state. */
export type StepAttempt = UpdateResult | 'lost' | 'retry'

/**
 * The mover's own step, once: (1) on the channel's queue, re-run `action` on the base, sign the
 * proposal and send it to the others; (2) off the queue, wait for their accepts (or a refusal,
 * or a time limit), which the `accept` and `reject` handlers report through `ch.pending`; (3) on
 * the queue again, sign last (record first) and commit the state to the others.
 *
 * @example
 * ```ts
 * const r = await proposeStep(ctx, ch, action, undefined)
 * ```
 */
export async function proposeStep(
  ctx: PartyContext,
  ch: ChannelMachine,
  action: Hex,
  envOpt: Env | undefined,
): Promise<StepAttempt> {
  const prepared = await serial(ch, () => prepare(ctx, ch, action, envOpt))
  if ('result' in prepared) return prepared.result
  const { pending } = prepared
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    prepared.outcome,
    new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ctx.timeoutMs))),
  ])
  clearTimeout(timer)
  return serial(ch, () => conclude(ctx, ch, pending, outcome, prepared.gasUsed))
}

type Prepared = { result: StepAttempt } | { outcome: Promise<Outcome>; pending: Pending; gasUsed: bigint }

/** Step (1): the proposal, or why there is none. */
async function prepare(
  ctx: PartyContext,
  ch: ChannelMachine,
  action: Hex,
  envOpt: Env | undefined,
): Promise<Prepared> {
  const { io } = ctx
  if (ch.disputed) throw disputedError(ch)
  if (!ch.funded)
    return {
      result: {
        ok: false,
        reason: 'unfunded',
        message: 'not every participant has funded the channel (confirmFunding)',
      },
    }
  const base = baseOf(ch)
  if (base === undefined)
    throw new ChanvmError('CHANNEL_NOT_FOUND', 'the channel has no co-signed state yet', { channelId: ch.id })
  if (ch.pending !== undefined)
    throw new ChanvmError('INVALID_ARGUMENT', 'an update of this channel is already in flight', {
      channelId: ch.id,
    })
  const env = envOpt ?? (await io.now())
  const r = await io.rerun(ch, base.state, BigInt(ch.myIndex), action, env)
  if (!r.ok) return { result: { ok: false, reason: 'step-rejected', step: r } }
  const digest = digestOf(ch, r.state)
  const own = await io.signedAt(ch, r.state.version)
  if (own !== undefined && lower(own.digest) !== lower(digest)) {
    // This party signed a peer's state at this version and waits for its commit: it asks for
    // it and retries on top. It never signs a second state at one version.
    await io.askSync(ch, r.state.version, own)
    return { result: 'lost' }
  }
  let done!: (o: Outcome) => void
  const outcome = new Promise<Outcome>((res) => (done = res))
  const pending: Pending = { state: r.state, digest, accepts: new Map(), done }
  ch.pending = pending
  const sig = await io.signProposal(ch, r.state, digest, action, env)
  const msg: Msg<'propose'> = {
    type: 'propose',
    channelId: ch.id,
    from: io.address,
    state: stateToWire(r.state),
    mover: ch.myIndex,
    action,
    env: envToWire(env),
    baseSigs: [...base.signatures],
    sig,
  }
  // It counts until a verdict on it, also after this update ends without one (docs/protocol.md).
  ch.own.set(lower(digest), { version: r.state.version, msg })
  ch.withdrawn.delete(lower(digest))
  io.emit({ type: 'proposed', channelId: ch.id, version: r.state.version, mover: ch.myIndex })
  for (const to of others(ch)) io.send(to, msg)
  return { outcome, pending, gasUsed: r.gasUsed }
}

/** Step (3): what the handlers reported (or the time limit) becomes the update's result. */
async function conclude(
  ctx: PartyContext,
  ch: ChannelMachine,
  pending: Pending,
  outcome: Outcome | 'timeout',
  gasUsed: bigint,
): Promise<StepAttempt> {
  if (ch.pending === pending) ch.pending = undefined
  if (outcome === 'timeout')
    return {
      ok: false,
      reason: 'peer-timeout',
      missing: others(ch).filter((a) => !pending.accepts.has(lower(a))),
    }
  if (outcome === 'lost' || outcome === 'retry') {
    // Lost to another state at this version, or refused by a peer that was behind (proposed
    // again at once): this very proposal is not finished later.
    withdraw(ch, pending.digest, pending.state.version)
    return outcome
  }
  if (outcome === 'disputed' || ch.disputed) throw disputedError(ch)
  if (typeof outcome === 'object' && 'ok' in outcome && outcome.reason === 'peer-rejected')
    withdraw(ch, pending.digest, pending.state.version)
  if (outcome === 'complete') {
    // Every other participant signed: the mover signs last, records its signature together
    // with the co-signed state (one disk sync), and only then lets it leave in the commit.
    const r = await finishOwn(ctx, ch, pending.state, pending.digest, pending.accepts)
    if (!r.ok || r.signed === undefined) return conflictAt(pending.state)
    return { ok: true, signed: r.signed, gasUsed }
  }
  if ('finish' in outcome) {
    // The others signed this party's earlier proposal at this version: finish that state. The
    // action is not retried on top of it (it may be the same action): the caller decides.
    const r = await finishOwn(ctx, ch, outcome.finish, outcome.digest, outcome.sigs)
    if (!r.ok || r.signed === undefined) return conflictAt(outcome.finish)
    if (lower(outcome.digest) === lower(pending.digest)) return { ok: true, signed: r.signed, gasUsed }
    return {
      ok: false,
      reason: 'conflict',
      message: `the others had signed this party's earlier proposal at version ${outcome.finish.version}; it is co-signed now, the action was not applied`,
      finished: r.signed,
    }
  }
  return outcome
}

const conflictAt = (s: State): UpdateResult => ({
  ok: false,
  reason: 'conflict',
  message: `this party already signed a different state at version ${s.version}`,
})
