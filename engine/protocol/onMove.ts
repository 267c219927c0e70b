import type { Hex } from 'viem'
import type { Env, State } from '../channel/types.ts'
import { stateToWire } from '../channel/wire.ts'
import type { StepResult } from '../sandbox/runTransition.ts'
import type { SignatureRecord } from '../store/types.ts'
import { ChanvmError } from '../errors.ts'
import { decided, need, type Effect, type Handled, type Outcome, type StepAttempt } from './effects.ts'
import { finishOwn } from './finishOwn.ts'
import {
  baseOf,
  lower,
  others,
  selfOf,
  withdraw,
  type ChannelMachine,
  type Msg,
  type Pending,
} from './machine.ts'
import { digestOf, envToWire } from './messageChecks.ts'
import { disputedError } from './partyErrors.ts'

/** The mover's own step: the update's id (its result comes in a `resolve` effect under it), the action, the env if the caller names one. */
export type Move = { id: string; action: Hex; env?: Env | undefined }

/** What {@link onMove} needs from the world: the clock, the sandbox's run, this party's record at the next version, its `Proposal` signature. */
export type MoveFacts = {
  env?: Env
  step?: StepResult
  signedHere?: SignatureRecord | null
  proposalSig?: Hex
}

const result = (id: string, r: StepAttempt): Effect => ({ kind: 'resolve', id, value: { result: r } })

/**
 * The mover's step, part one: run `action` on the base in the sandbox, sign the `Proposal` and
 * send it to the others; the machine holds it as `pending` until a verdict. Without a proposal
 * (unfunded, a rejected step, a signature held at that version) the update's result is resolved
 * at once.
 *
 * @example
 * ```ts
 * const d = onMove(machine, { id, action }, { env, step, signedHere: null, proposalSig })
 * ```
 */
export function onMove(ch: ChannelMachine, move: Move, f: MoveFacts): Handled<MoveFacts> {
  if (ch.disputed) throw disputedError(ch)
  if (!ch.funded)
    return decided(ch, [
      result(move.id, {
        ok: false,
        reason: 'unfunded',
        message: 'not every participant has funded the channel (confirmFunding)',
      }),
    ])
  const base = baseOf(ch)
  if (base === undefined)
    throw new ChanvmError('CHANNEL_NOT_FOUND', 'the channel has no co-signed state yet', { channelId: ch.id })
  if (ch.pending !== undefined && ch.pending.id !== move.id)
    throw new ChanvmError('INVALID_ARGUMENT', 'an update of this channel is already in flight', {
      channelId: ch.id,
    })
  const env = move.env ?? f.env
  if (env === undefined) return need('env', { kind: 'clock' })
  if (f.step === undefined)
    return need('step', {
      kind: 'rerun',
      from: base.state,
      mover: BigInt(ch.myIndex),
      action: move.action,
      env,
    })
  const r = f.step
  if (!r.ok) return decided(ch, [result(move.id, { ok: false, reason: 'step-rejected', step: r })])
  const digest = digestOf(ch, r.state)
  if (f.signedHere === undefined) return need('signedHere', { kind: 'signedAt', version: r.state.version })
  const own = f.signedHere
  if (own !== null && lower(own.digest) !== lower(digest)) {
    // This party signed a peer's state at this version and waits for its commit: it asks for
    // it and retries on top. It never signs a second state at one version.
    return decided(ch, [{ kind: 'askSync', version: r.state.version, show: own }, result(move.id, 'lost')])
  }
  if (f.proposalSig === undefined)
    return need('proposalSig', { kind: 'signProposal', state: r.state, digest, action: move.action, env })
  const msg: Msg<'propose'> = {
    type: 'propose',
    channelId: ch.id,
    from: selfOf(ch),
    state: stateToWire(r.state),
    mover: ch.myIndex,
    action: move.action,
    env: envToWire(env),
    baseSigs: [...base.signatures],
    sig: f.proposalSig,
  }
  const pending: Pending = { id: move.id, state: r.state, digest, accepts: new Map(), gasUsed: r.gasUsed }
  // It counts until a verdict on it, also after this update ends without one (docs/protocol.md).
  const ownMap = new Map(ch.own).set(lower(digest), { version: r.state.version, msg })
  const withdrawn = new Map([...ch.withdrawn].filter(([k]) => k !== lower(digest)))
  return decided({ ...ch, pending, own: ownMap, withdrawn }, [
    {
      kind: 'emit',
      event: { type: 'proposed', channelId: ch.id, version: r.state.version, mover: ch.myIndex },
    },
    ...others(ch).map((to): Effect => ({ kind: 'send', to, message: msg })),
  ])
}

/** The verdict the mover waited for, with its proposal as it stood (`pending`), or the time limit. */
export type Verdict = { pending: Pending; outcome: Outcome | 'timeout' }

/**
 * The mover's step, part two: the verdict becomes the update's result. Every other participant
 * signed: sign last (`recordAndSign` with the co-signed state, then commit, in `onSigned`).
 *
 * @example
 * ```ts
 * const d = onVerdict(machine, { pending, outcome }, {})
 * ```
 */
export function onVerdict(ch: ChannelMachine, v: Verdict, _f: object): Handled<object> {
  const { pending, outcome } = v
  const machine = ch.pending?.id === pending.id ? { ...ch, pending: undefined } : ch
  const id = pending.id
  if (outcome === 'timeout') {
    const accepts = ch.pending?.id === id ? ch.pending.accepts : pending.accepts
    const missing = others(ch).filter((a) => !accepts.has(lower(a)))
    return decided(machine, [result(id, { ok: false, reason: 'peer-timeout', missing })])
  }
  if (outcome === 'lost' || outcome === 'retry')
    // Lost to another state at this version, or refused by a peer that was behind (proposed
    // again at once): this very proposal is not finished later.
    return decided(withdraw(machine, pending.digest, pending.state.version), [result(id, outcome)])
  // A dispute was registered meanwhile: the mover does not sign last (the update throws DISPUTED).
  if (outcome === 'disputed' || ch.disputed) return decided(machine, [result(id, 'disputed')])
  if ('finish' in outcome) {
    // Every other participant signed this proposal, or this party's earlier one at this version:
    // sign last. The action is not retried on top of an earlier one (the caller decides).
    const then = { for: 'finish' as const, id, ownDigest: pending.digest, gasUsed: pending.gasUsed }
    return finishOwn(machine, outcome.finish as State, outcome.digest, outcome.sigs, then)
  }
  const m =
    outcome.reason === 'peer-rejected' ? withdraw(machine, pending.digest, pending.state.version) : machine
  return decided(m, [result(id, outcome)])
}
