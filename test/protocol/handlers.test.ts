import assert from 'node:assert/strict'
import type { Address, Hex } from 'viem'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { hashState } from '../../engine/channel/hashState.ts'
import type { SignedState, State } from '../../engine/channel/types.ts'
import { stateToWire } from '../../engine/channel/wire.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { secp256k1Backend } from '../../engine/crypto/secp256k1Backend.ts'
import type { Effect, Handled, Handler, Step } from '../../engine/protocol/effects.ts'
import { createChannelMachine, type ChannelMachine, type Msg } from '../../engine/protocol/machine.ts'
import { envToWire, recovers } from '../../engine/protocol/messageChecks.ts'
import { hashProposal, hashReject } from '../../engine/protocol/messageDigests.ts'
import { onAccept } from '../../engine/protocol/onAccept.ts'
import { onCommit } from '../../engine/protocol/onCommit.ts'
import { onMove, onVerdict } from '../../engine/protocol/onMove.ts'
import { onPropose, type ProposeInputFacts } from '../../engine/protocol/onPropose.ts'
import { onReject } from '../../engine/protocol/onReject.ts'
import { onSigned } from '../../engine/protocol/onSigned.ts'
import type { SignatureRecord } from '../../engine/store/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

// The handlers as pure functions: machine + message + facts in, next machine + effects out. No
// store, no sandbox, no transport, no clock: every fact is given by the table. Messages are signed
// with real keys, and a signature check a handler asks for is answered by the real recovery.

const { params, channelId, initial } = escrowChannel({ nonce: 77n })
const [PAYER, PAYEE, MALLORY] = testAddresses as [Address, Address, Address]
const signers = testKeys.map((k) => createKeySigner(k))
const digestOf = (s: State) => hashState(params.chainId, params.adjudicator, s)
const sign = async (i: number, d: Hex) => (await signers[i]!.signDigest(d)) as Hex
const kinds = (s: Step) => s.effects.map((e) => (e.kind === 'refuse' ? `refuse:${e.reason}` : e.kind))
const signsState = (s: Step) => s.effects.some((e) => e.kind === 'recordAndSign' || e.kind === 'signAgain')

/**
 * Asks a handler until it decides: a signature check is answered by the real recovery, every
 * other fact by `facts` (a fact the table does not give fails the test).
 */
function decide<I, F extends object>(
  h: Handler<I, F>,
  m: ChannelMachine,
  input: I,
  facts: Partial<F> = {},
): Step {
  const before = structuredClone(m)
  const f = { ...facts } as F
  for (let i = 0; i < 10; i++) {
    const r: Handled<F> = h(m, input, f)
    if (!('need' in r)) {
      assert.deepEqual(m, before, 'the handler left its input machine as it was')
      return r
    }
    const { key, ask } = r.need
    assert.equal(ask.kind, 'recover', `the table gives the fact ${key} (${ask.kind})`)
    if (ask.kind === 'recover') (f as Record<string, unknown>)[key] = recovers(ask.digest, ask.sig, ask.who)
  }
  throw new Error('the handler keeps asking')
}

const next: State = { ...initial, version: 1n, balances: [900n, 100n] }
const D1 = digestOf(next)
const action = '0x1234' as Hex
let v0: SignedState
/** The payee's machine: co-signed version 0, funded. */
let payee: ChannelMachine
/** The payer's machine, its proposal of version 1 in flight under id `u1`. */
let payer: ChannelMachine
let propose: Msg<'propose'>
let accepted: SignatureRecord

/** A proposal of `state`, signed as participant 0's by key `by`. */
async function proposalOf(state: State, by = 0): Promise<Msg<'propose'>> {
  const pd = hashProposal(params, {
    channelId,
    version: state.version,
    stateHash: digestOf(state),
    mover: 0n,
    action,
    ...fixedEnv,
  })
  return {
    type: 'propose',
    channelId,
    from: PAYER,
    state: stateToWire(state),
    mover: 0,
    action,
    env: envToWire(fixedEnv),
    baseSigs: [...v0.signatures],
    sig: await sign(by, pd),
  }
}

before(async () => {
  v0 = { state: initial, signatures: [await sign(0, digestOf(initial)), await sign(1, digestOf(initial))] }
  const base = { id: channelId, params, app: escrowApp, funded: true }
  payee = { ...createChannelMachine({ ...base, myIndex: 1 }), latest: v0 }
  payer = {
    ...createChannelMachine({ ...base, myIndex: 0 }),
    latest: v0,
    pending: { id: 'u1', state: next, digest: D1, accepts: new Map(), gasUsed: 21n },
  }
  propose = await proposalOf(next)
  accepted = { channelId, version: 1n, digest: D1, state: next }
})

describe('handlers as pure functions: a peer’s proposal (onPropose)', () => {
  const checked: Partial<ProposeInputFacts> = {
    below: null,
    signedHere: null,
    envWithin: true,
    step: { ok: true, state: next, gasUsed: 21n },
    approval: true,
  }

  it('a valid step: record and sign, then accept (in onSigned); nothing else', () => {
    const s = decide(onPropose, payee, propose, checked)
    assert.deepEqual(kinds(s), ['recordAndSign'])
    const e = s.effects[0] as Extract<Effect, { kind: 'recordAndSign' }>
    assert.equal(e.record.digest, D1)
    assert.equal(e.record.version, 1n)
    assert.deepEqual(e.then, { for: 'accept', to: PAYER })
    assert.equal(e.record.proposal?.sig, propose.sig, 'the mover’s Proposal signature is recorded with it')
  })

  it('asks for its facts in order, one at a time, and only as far as the rules get', () => {
    const asked: string[] = []
    let f: Partial<ProposeInputFacts> = {}
    const answers: Partial<ProposeInputFacts> = { ...checked, moverSigned: true }
    for (;;) {
      const r = onPropose(payee, propose, f as ProposeInputFacts)
      if (!('need' in r)) break
      asked.push(r.need.key)
      f = { ...f, [r.need.key]: answers[r.need.key as keyof ProposeInputFacts] }
    }
    assert.deepEqual(asked, ['moverSigned', 'signedHere', 'envWithin', 'step', 'approval'])
  })

  const cheats: [string, () => Promise<[Msg<'propose'>, Partial<ProposeInputFacts>]>, string[]][] = [
    ['a Proposal signed by someone else', async () => [await proposalOf(next, 2), checked], ['drop']],
    [
      'a sender that is not the mover it names',
      async () => [{ ...propose, from: MALLORY }, checked],
      ['drop'],
    ],
    ['a signature that is no signature', async () => [{ ...propose, sig: '0x00' as Hex }, checked], ['drop']],
    [
      'a version that skips one (wrong version)',
      async () => [await proposalOf({ ...next, version: 3n }), checked],
      ['refuse:version-gap', 'askSync'],
    ],
    [
      'a replayed proposal of version 0',
      async () => [await proposalOf({ ...next, version: 0n }), checked],
      ['refuse:stale', 'send'],
    ],
    [
      'a post-state the app does not produce',
      async () => [
        propose,
        { ...checked, step: { ok: true, state: { ...next, balances: [0n, 1000n] }, gasUsed: 1n } },
      ],
      ['refuse:state-mismatch'],
    ],
    [
      'a step the app rejects',
      async () => [
        propose,
        { ...checked, step: { ok: false, reason: 'revert', message: 'Overspend', gasUsed: 1n } as never },
      ],
      ['refuse:step-rejected'],
    ],
    ['an env outside tolerance', async () => [propose, { ...checked, envWithin: false }], ['refuse:env']],
    [
      'a step the policy refuses',
      async () => [propose, { ...checked, approval: 'not now' }],
      ['refuse:refused'],
    ],
    [
      'a second state at a version this party signed',
      async () => [propose, { ...checked, signedHere: { ...accepted, digest: digestOf(initial) } }],
      ['refuse:conflicting-signature'],
    ],
  ]
  for (const [name, make, expected] of cheats) {
    it(`${name}: ${expected.join(', ')}, and nothing is signed`, async () => {
      const [m, facts] = await make()
      const s = decide(onPropose, payee, m, facts)
      assert.deepEqual(kinds(s), expected)
      assert.ok(!signsState(s), 'no state signature')
      assert.equal(s.machine.latest, payee.latest)
    })
  }

  it('the conflicting-signature refusal shows what this party signed instead', () => {
    const other = { ...accepted, digest: digestOf(initial) }
    const s = decide(onPropose, payee, propose, { ...checked, signedHere: other })
    const e = s.effects[0] as Extract<Effect, { kind: 'refuse' }>
    assert.equal(e.show, other)
  })

  it('a channel in dispute refuses a valid step (disputed)', () => {
    const s = decide(onPropose, { ...payee, disputed: true }, propose, checked)
    assert.deepEqual(kinds(s), ['refuse:disputed'])
  })

  it('the same state signed before (a lost accept): signed again from its record, not recorded anew', () => {
    const s = decide(onPropose, payee, propose, { ...checked, signedHere: accepted })
    assert.deepEqual(kinds(s), ['signAgain', 'schedule'])
  })
})

describe('handlers as pure functions: accept, reject, commit, the mover', () => {
  const acceptOf = async (by: number, digest = D1): Promise<Msg<'accept'>> => ({
    type: 'accept',
    channelId,
    from: PAYEE,
    version: '1',
    digest,
    sig: await sign(by, digest),
  })

  it('the last accept resolves the update’s verdict under its id: every signature in', async () => {
    const s = decide(onAccept, payer, await acceptOf(1), {})
    assert.equal(s.effects.length, 1)
    const e = s.effects[0] as Extract<Effect, { kind: 'resolve' }>
    assert.equal(e.id, 'u1')
    assert.ok('verdict' in e.value && typeof e.value.verdict === 'object' && 'finish' in e.value.verdict)
    assert.equal(s.machine.pending?.accepts.size, 1)
  })

  it('a forged accept is dropped; a replayed accept of another state changes nothing', async () => {
    assert.deepEqual(kinds(decide(onAccept, payer, await acceptOf(2), {})), ['drop'])
    const replay = decide(onAccept, payer, await acceptOf(1, digestOf(initial)), {})
    assert.deepEqual(kinds(replay), [])
    assert.equal(replay.machine, payer)
  })

  it('a signed refusal ends the update (peer-rejected); a forged one is dropped', async () => {
    const r = { reason: 'refused', message: 'not now' }
    const rd = hashReject(params, { channelId, version: 1n, stateHash: D1, ...r })
    const m: Msg<'reject'> = {
      type: 'reject',
      channelId,
      from: PAYEE,
      version: '1',
      digest: D1,
      ...r,
      sig: await sign(1, rd),
    } as Msg<'reject'>
    const s = decide(onReject, payer, m, {})
    assert.deepEqual(kinds(s), ['emit', 'resolve'])
    const forged = decide(onReject, payer, { ...m, sig: await sign(2, rd) }, {})
    assert.deepEqual(kinds(forged), ['drop'])
  })

  it('a commit with every signature is persisted, then taken; one forged signature drops it', async () => {
    const signed = { state: next, signatures: [await sign(0, D1), await sign(1, D1)] }
    const m: Msg<'commit'> = {
      type: 'commit',
      channelId,
      from: PAYER,
      version: '1',
      digest: D1,
      sigs: signed.signatures,
      state: stateToWire(next),
    }
    const s = decide(onCommit, payee, m, {})
    assert.deepEqual(kinds(s), ['persist', 'emit'])
    assert.equal(s.machine.latest?.state.version, 1n)
    const forged = decide(onCommit, payee, { ...m, sigs: [signed.signatures[0]!, await sign(2, D1)] }, {})
    assert.deepEqual(kinds(forged), ['drop'])
    assert.equal(forged.machine.latest?.state.version, 0n)
    assert.deepEqual(kinds(decide(onCommit, s.machine, m, {})), [], 'a replayed commit changes nothing')
  })

  it('a commit carrying the signature this party handed out is taken without recovering it; other bytes there are recovered', async () => {
    const mine = await sign(1, D1)
    const effect = {
      kind: 'recordAndSign' as const,
      record: accepted,
      then: { for: 'accept' as const, to: PAYER },
    }
    const signedHere = onSigned(payee, effect, { ok: true, sig: mine }).machine
    const m: Msg<'commit'> = {
      type: 'commit',
      channelId,
      from: PAYER,
      version: '1',
      digest: D1,
      sigs: [await sign(0, D1), `0x${mine.slice(2).toUpperCase()}` as Hex],
      state: stateToWire(next),
    }
    const backend = secp256k1Backend as { recover: typeof secp256k1Backend.recover }
    const recover = backend.recover
    let recoveries = 0
    backend.recover = (...a) => (recoveries++, recover(...a))
    try {
      const s = decide(onCommit, signedHere, m, {})
      assert.deepEqual(kinds(s), ['persist', 'emit'])
      assert.equal(recoveries, 1, 'only the payer’s signature is recovered')
      recoveries = 0
      decide(onCommit, payee, m, {})
      assert.equal(recoveries, 2, 'without a signature handed out, both are recovered')
      // A valid signature of another key at this party's index: not the bytes it made, so recovered and refused.
      recoveries = 0
      const forged = decide(onCommit, signedHere, { ...m, sigs: [m.sigs[0]!, await sign(2, D1)] }, {})
      assert.deepEqual(kinds(forged), ['drop'])
      assert.equal(recoveries, 2)
      // Its own bytes over another digest are recovered too (and fail there).
      const other: State = { ...next, balances: [800n, 200n] }
      const D2 = digestOf(other)
      const elsewhere = { ...m, digest: D2, sigs: [await sign(0, D2), mine], state: stateToWire(other) }
      assert.deepEqual(kinds(decide(onCommit, signedHere, elsewhere, {})), ['drop'])
    } finally {
      backend.recover = recover
    }
  })

  it('the mover proposes without signing the state; an unfunded channel resolves at once', () => {
    const idle = { ...payer, pending: undefined }
    const facts = {
      env: fixedEnv,
      step: { ok: true as const, state: next, gasUsed: 21n },
      signedHere: null,
      proposalSig: propose.sig,
    }
    const s = decide(onMove, idle, { id: 'u2', action }, facts)
    assert.deepEqual(kinds(s), ['emit', 'send'])
    assert.equal(s.machine.pending?.id, 'u2')
    assert.ok(!signsState(s), 'the mover signs last')
    const u = decide(onMove, { ...idle, funded: false }, { id: 'u3', action }, facts)
    assert.deepEqual(u.effects, [
      {
        kind: 'resolve',
        id: 'u3',
        value: {
          result: {
            ok: false,
            reason: 'unfunded',
            message: 'not every participant has funded the channel (confirmFunding)',
          },
        },
      },
    ])
  })

  it('the verdict: every signature in, the mover signs last (record first); a timeout names who is missing', async () => {
    const pending = payer.pending!
    const sigs = new Map([[PAYEE.toLowerCase(), await sign(1, D1)]])
    const s = decide(onVerdict, payer, { pending, outcome: { finish: next, digest: D1, sigs } }, {})
    assert.deepEqual(kinds(s), ['recordAndSign'])
    assert.equal(s.machine.pending, undefined)
    const t = decide(onVerdict, payer, { pending, outcome: 'timeout' }, {})
    assert.deepEqual(t.effects, [
      {
        kind: 'resolve',
        id: 'u1',
        value: { result: { ok: false, reason: 'peer-timeout', missing: [PAYEE] } },
      },
    ])
  })

  it('after the record: accept carries the signature; a refused record sends no signature', async () => {
    const effect = {
      kind: 'recordAndSign' as const,
      record: accepted,
      then: { for: 'accept' as const, to: PAYER },
    }
    const sig = await sign(1, D1)
    const ok = onSigned(payee, effect, { ok: true, sig })
    assert.deepEqual(kinds(ok), ['emit', 'send', 'schedule'])
    const sent = ok.effects[1] as Extract<Effect, { kind: 'send' }>
    assert.equal(sent.message.type === 'accept' && sent.message.sig, sig)
    const existing = { ...accepted, digest: digestOf(initial) }
    const refused = onSigned(payee, effect, { ok: false, existing })
    assert.deepEqual(kinds(refused), ['refuse:conflicting-signature'])
  })

  it('the machine is plain data: structuredClone copies it, in flight and all', () => {
    const copy = structuredClone(payer)
    assert.deepEqual(copy, payer)
    assert.notEqual(copy.pending, payer.pending)
  })
})
