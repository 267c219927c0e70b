import type { Address } from 'viem'
import { encodeState } from '../channel/encodeState.ts'
import type { State } from '../channel/types.ts'
import type { StepResult } from '../sandbox/runTransition.ts'
import type { SignatureRecord } from '../store/types.ts'
import { decideCommit } from './decideCommit.ts'
import { decideProposal, type ProposalFacts } from './decideProposal.ts'
import { andThen, decided, type Effect, type Handled, type Step } from './effects.ts'
import { baseOf, lower, selfOf, takeLatest, type ChannelMachine, type Msg } from './machine.ts'
import { commitOf, digestOf, stateOf, verifyAll, wireToEnv } from './messageChecks.ts'
import { hashProposal } from './messageDigests.ts'

/**
 * What {@link onPropose} needs from the world, asked for one at a time and only when the rules get
 * that far: the mover's signature check, this party's signature records below and at the
 * proposal's version, the env check against its clock, the sandbox's re-run, its policy.
 */
export type ProposeInputFacts = {
  moverSigned?: boolean
  below?: SignatureRecord | null
  signedHere?: SignatureRecord | null
  envWithin?: boolean
  step?: StepResult
  approval?: boolean | string
}

/**
 * A peer's `propose`: check the mover's signature, catch up on the base it carries, then by
 * {@link decideProposal} sign (record first) and `accept`, or refuse with a signed `reject`. A
 * store error on the way is answered `store-error` (`onStoreError`) and fails the message, so the
 * transport redelivers it.
 *
 * @example
 * ```ts
 * const d = onPropose(machine, m, { moverSigned: true, signedHere: null, envWithin: true, step, approval: true })
 * ```
 */
export function onPropose(
  ch: ChannelMachine,
  m: Msg<'propose'>,
  f: ProposeInputFacts,
): Handled<ProposeInputFacts> {
  const state = stateOf(m.state)
  if (lower(state.channelId) !== ch.key)
    return decided(ch, [
      { kind: 'drop', reason: 'malformed', message: `proposal names channel ${state.channelId}` },
    ])
  const env = wireToEnv(m.env)
  const digest = digestOf(ch, state)
  const onStoreError = { to: m.from, version: state.version, digest }
  const ask = (
    key: keyof ProposeInputFacts & string,
    a: Extract<Handled<ProposeInputFacts>, { need: unknown }>['need']['ask'],
  ) => ({ need: { key, ask: a }, onStoreError })
  const moverAddr = Number.isInteger(m.mover) ? ch.params.participants[m.mover] : undefined
  const moverMatches = moverAddr !== undefined && m.mover !== ch.myIndex && lower(moverAddr) === lower(m.from)
  if (moverMatches && f.moverSigned === undefined) {
    const pd = hashProposal(ch.params, {
      channelId: ch.id,
      version: state.version,
      stateHash: digest,
      mover: BigInt(m.mover),
      action: m.action,
      ...env,
    })
    return ask('moverSigned', { kind: 'recover', digest: pd, sig: m.sig, who: moverAddr as Address })
  }
  const signatureValid = moverMatches && f.moverSigned === true
  // A proposal carries its base's signatures: a party that signed the base but missed its commit catches up.
  let s = decided(ch)
  const below = state.version - 1n
  if (signatureValid && below >= 0n && (ch.latest === undefined || ch.latest.state.version < below)) {
    if (Array.isArray(m.baseSigs) && m.baseSigs.length > 0) {
      if (f.below === undefined) return ask('below', { kind: 'signedAt', version: below })
      s = catchUp(ch, below, f.below, m.baseSigs)
    }
  }
  if (signatureValid && f.signedHere === undefined)
    return ask('signedHere', { kind: 'signedAt', version: state.version })
  const c = s.machine
  const base = baseOf(c)?.state
  const facts: ProposalFacts = {
    version: state.version,
    digest,
    mover: m.mover,
    myIndex: c.myIndex,
    moverMatches,
    signatureValid,
    funded: c.funded,
    disputed: c.disputed,
    base: base === undefined ? undefined : { version: base.version, isFinal: base.isFinal },
    latestVersion: c.latest?.state.version,
    signedDigest: f.signedHere?.digest,
    own:
      c.pending?.state.version === state.version
        ? 'in-flight'
        : [...c.own.values()].some((o) => o.version === state.version)
          ? 'unsettled'
          : undefined,
    ...(f.envWithin === undefined ? {} : { envWithin: f.envWithin }),
    ...(f.step === undefined
      ? {}
      : {
          step: f.step.ok
            ? { ok: true as const, sameState: encodeState(f.step.state) === encodeState(state) }
            : { ok: false as const, message: `${f.step.reason}: ${f.step.message}` },
        }),
    ...(f.approval === undefined ? {} : { approval: f.approval }),
  }
  const d = decideProposal(facts)
  if (d.type === 'need') {
    if (d.fact === 'env') return ask('envWithin', { kind: 'envWithin', env })
    if (d.fact === 'step')
      return ask('step', {
        kind: 'rerun',
        from: base as State,
        mover: BigInt(m.mover),
        action: m.action,
        env,
      })
    const step = { channelId: c.id, from: base as State, to: state, mover: m.mover, action: m.action, env }
    return ask('approval', { kind: 'approve', step })
  }
  if (d.type === 'drop') return decided(c, [{ kind: 'drop', reason: d.reason, message: d.message }])
  if (d.type === 'answer-again') {
    const rec = f.signedHere
    if (rec === undefined || rec === null) return s
    const effects: Effect[] = [{ kind: 'signAgain', record: rec, to: m.from }]
    if (c.latest === undefined || c.latest.state.version < state.version)
      effects.push({ kind: 'schedule', timer: 'sync', version: state.version })
    return { ...andThen(s, (x) => decided(x, effects)), onStoreError }
  }
  if (d.yieldPending === true && c.pending !== undefined) {
    // This party's own proposal at this version lost to the mover's (lower index).
    const lost = c.pending
    s = andThen(s, (x) =>
      decided({ ...x, pending: undefined }, [{ kind: 'resolve', id: lost.id, value: { verdict: 'lost' } }]),
    )
  }
  if (d.type === 'refuse') {
    const effects: Effect[] = [
      {
        kind: 'refuse',
        to: m.from,
        version: state.version,
        digest,
        reason: d.reason,
        message: d.message,
        ...(d.attachSigned === true && f.signedHere ? { show: f.signedHere } : {}),
      },
    ]
    // This party's unsettled proposal at that version wins: the mover may sign it now.
    if (d.resendOwn === true)
      for (const o of c.own.values())
        if (o.version === state.version) effects.push({ kind: 'send', to: m.from, message: o.msg })
    if (d.sendLatest === true && c.latest !== undefined)
      effects.push({ kind: 'send', to: m.from, message: commitOf(c, selfOf(c), c.latest) })
    if (d.syncFrom !== undefined) effects.push({ kind: 'askSync', version: d.syncFrom, to: m.from })
    return { ...andThen(s, (x) => decided(x, effects)), onStoreError }
  }
  const record = {
    channelId: c.id,
    version: state.version,
    digest,
    state,
    proposal: { mover: m.mover, action: m.action, env, sig: m.sig },
  }
  const sign: Effect = { kind: 'recordAndSign', record, then: { for: 'accept', to: m.from } }
  return { ...andThen(s, (x) => decided(x, [sign])), onStoreError }
}

/** Stores the base the proposal carries when this party signed it and every signature verifies. */
function catchUp(ch: ChannelMachine, version: bigint, rec: SignatureRecord | null, sigs: unknown): Step {
  const valid = rec === null ? undefined : verifyAll(ch, rec.digest, sigs)
  const d = decideCommit({
    version,
    latestVersion: ch.latest?.state.version,
    stateKnown: rec !== null,
    signaturesValid: valid !== undefined,
  })
  if (d.type !== 'store' || rec === null || valid === undefined) return decided(ch)
  const signed = { state: rec.state, signatures: valid }
  return andThen(decided(ch, [{ kind: 'persist', signed }]), (c) => takeLatest(c, signed))
}
