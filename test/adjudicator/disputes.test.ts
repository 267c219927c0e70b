// The dispute rules of the Adjudicator as a table, on a real anvil: each row is a precondition, a
// call, who signed, and the expected result (a check of the chain afterwards, or a custom error).
import assert from 'node:assert/strict'
import { encodeAbiParameters, type Hex } from 'viem'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { AdjudicatorRevertError } from '../../engine/adjudicator/toAdjudicatorError.ts'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { withdraw } from '../../engine/adjudicator/withdraw.ts'
import { getChannelId, hashStateStruct, signState, type ChannelParams, type SignedState, type State } from '../../engine/channel/index.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { CHALLENGE, dummyHash, startChainFixture, toHighS, type ChainFixture } from '../support/anvilFixture.ts'

type Ctx = { params: ChannelParams; id: Hex; s: Record<string, State>; signed: Record<string, SignedState> }

type Row = {
  given: string
  call: string
  signer: string
  pre: (f: ChainFixture) => Promise<Ctx>
  act: (f: ChainFixture, c: Ctx) => Promise<unknown>
  /** A custom error name (and optionally its arguments), or a check of the outcome. */
  expect:
    | { revert: string; args?: (f: ChainFixture, c: Ctx) => readonly unknown[]; appError?: [string, readonly unknown[]] }
    | { check: (f: ChainFixture, c: Ctx, result: unknown) => Promise<void> }
}

const BAL = [600n, 400n] as const
const FUND = escrowActions.fund(100n, 10n ** 12n)

/** A fresh Escrow channel, funded 600 by alice and 400 by bob, with co-signed states v1..v4. */
async function channel(f: ChainFixture, opts: { holdings?: bigint; params?: ChannelParams } = {}): Promise<Ctx> {
  const params = opts.params ?? f.escrowParams()
  const id = getChannelId(params)
  const holdings = opts.holdings ?? 1000n
  if (holdings > 0n) await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: holdings })
  const s = {
    v1: f.state(params, 1n, BAL),
    v2: f.state(params, 2n, [550n, 450n], { escrowId: 1n }),
    v2b: f.state(params, 2n, [500n, 500n], { escrowId: 1n }),
    v3: f.state(params, 3n, [500n, 500n], { escrowId: 2n }),
    v4: f.state(params, 4n, [450n, 550n], { escrowId: 3n }),
    final3: f.state(params, 3n, [300n, 700n], { escrowId: 2n }, true),
    final2: f.state(params, 2n, [300n, 700n], { escrowId: 1n }, true),
  }
  const signed = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, f.cosign(params, v)]))
  return { params, id, s, signed }
}

async function held(f: ChainFixture, version: 'v1' | 'v2' | 'v3' | 'final3', opts: { holdings?: bigint } = {}): Promise<Ctx> {
  const c = await channel(f, opts)
  const signed = c.signed[version]
  assert(signed)
  await register(f.bob.client, { params: c.params, signed })
  return c
}

const st = (c: Ctx, k: string): State => {
  const v = c.s[k]
  assert(v, k)
  return v
}
const sg = (c: Ctx, k: string): SignedState => {
  const v = c.signed[k]
  assert(v, k)
  return v
}

/** Alice forces FUND on v1 held: v2 forced. */
async function forcedFund(f: ChainFixture, c: Ctx): Promise<State> {
  const from = st(c, 'v1')
  const r = await f.forceAndCheck(f.alice.client, { params: c.params, from, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey) })
  return r.state
}

async function expectRecord(f: ChainFixture, c: Ctx, want: { status: string; version: bigint; stateOf?: State }): Promise<void> {
  const rec = await getChannelRecord(f.alice.client, c.id)
  assert.equal(rec.status, want.status)
  assert.equal(rec.version, want.version)
  if (want.stateOf !== undefined) assert.equal(rec.stateHash, `0x${Buffer.from(hashStateStruct(want.stateOf)).toString('hex')}`)
}

const rows: Row[] = [
  // ------------------------------------------------------------------ register
  {
    given: 'open funded channel', call: 'register co-signed v1', signer: 'alice+bob',
    pre: (f) => channel(f),
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: {
      check: async (f, c, r) => {
        await expectRecord(f, c, { status: 'disputed', version: 1n, stateOf: st(c, 'v1') })
        const block = await f.alice.client.publicClient.getBlock()
        assert.equal((r as { finalizesAt: bigint }).finalizesAt, block.timestamp + CHALLENGE)
      },
    },
  },
  {
    given: 'stale v1 held', call: 'register co-signed v2 (refute)', signer: 'alice+bob',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: { check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 2n, stateOf: st(c, 'v2') }) },
  },
  {
    given: 'v2 held', call: 'register co-signed v1 (lower)', signer: 'alice+bob',
    pre: (f) => held(f, 'v2'),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: { revert: 'StaleVersion', args: () => [1n, 2n] },
  },
  {
    given: 'v2 held', call: 'register another co-signed v2 (equal)', signer: 'alice+bob',
    pre: (f) => held(f, 'v2'),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v2b') }),
    expect: { revert: 'StaleVersion', args: () => [2n, 2n] },
  },
  {
    given: 'open funded channel', call: 'register v1', signer: 'alice + carol (not a participant) for bob',
    pre: (f) => channel(f),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: f.cosign(c.params, st(c, 'v1'), [f.alice.privateKey, f.carol.privateKey]) }),
    expect: { revert: 'NotSigner', args: (f) => [1n, f.carol.address] },
  },
  {
    given: 'open funded channel', call: 'register v1', signer: "alice's signature in high-s form",
    pre: (f) => channel(f),
    act: (f, c) => {
      const s = sg(c, 'v1')
      return register(f.alice.client, { params: c.params, signed: { state: s.state, signatures: [toHighS(s.signatures[0] as Hex), s.signatures[1] as Hex] } })
    },
    expect: { revert: 'HighS' },
  },
  {
    given: 'open funded channel', call: 'register v1', signer: 'alice+bob over chain id 1',
    pre: (f) => channel(f),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: f.cosign({ ...c.params, chainId: 1n }, st(c, 'v1')) }),
    expect: { revert: 'NotSigner', args: () => [0n, undefined] },
  },
  {
    given: 'open funded channel', call: 'register v1', signer: 'alice+bob for another adjudicator',
    pre: (f) => channel(f),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: f.cosign({ ...c.params, adjudicator: f.deployment.apps.Escrow!.address }, st(c, 'v1')) }),
    expect: { revert: 'NotSigner', args: () => [0n, undefined] },
  },
  {
    given: 'channel whose params name chain id 1', call: 'register v1', signer: 'alice+bob',
    pre: (f) => channel(f, { params: f.escrowParams({ chainId: 1n }), holdings: 0n }),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: { revert: 'WrongChainId', args: () => [1n, 31337n] },
  },
  {
    given: 'channel whose params name another adjudicator', call: 'register v1', signer: 'alice+bob',
    pre: (f) => channel(f, { params: f.escrowParams({ adjudicator: f.carol.address }), holdings: 0n }),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: { revert: 'WrongAdjudicator', args: (f) => [f.carol.address] },
  },
  {
    given: 'open funded channel', call: 'register v1 with one signature', signer: 'alice only',
    pre: (f) => channel(f),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: f.cosign(c.params, st(c, 'v1'), [f.alice.privateKey]) }),
    expect: { revert: 'SignatureCount', args: () => [1n, 2n] },
  },
  {
    given: 'open funded channel', call: 'register v1 with a 64-byte signature', signer: 'alice (truncated) + bob',
    pre: (f) => channel(f),
    act: (f, c) => {
      const s = sg(c, 'v1')
      return register(f.alice.client, { params: c.params, signed: { state: s.state, signatures: [(s.signatures[0] as Hex).slice(0, 130) as Hex, s.signatures[1] as Hex] } })
    },
    expect: { revert: 'BadSignatureLength', args: () => [64n] },
  },
  {
    given: 'v1 held, timeout passed', call: 'register co-signed v2', signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: { revert: 'DisputeExpired' },
  },
  // ------------------------------------------------------------------ forceProgress
  {
    given: 'v1 held', call: 'forceProgress FUND (mover 0, the payer)', signer: 'alice (mover)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => forcedFund(f, c),
    expect: {
      check: async (f, c, r) => {
        const state = r as State
        assert.equal(state.version, 2n)
        await expectRecord(f, c, { status: 'disputed', version: 2n, stateOf: state })
      },
    },
  },
  {
    given: 'open funded channel (nothing held)', call: 'forceProgress FUND on co-signed v1 with its signatures', signer: 'alice+bob (base), alice (mover)',
    pre: (f) => channel(f),
    act: (f, c) => {
      const from = st(c, 'v1')
      return f.forceAndCheck(f.alice.client, { params: c.params, from, fromSignatures: sg(c, 'v1').signatures, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey) })
    },
    expect: { check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 2n }) },
  },
  {
    given: 'v2 held', call: 'forceProgress on v1 without signatures', signer: 'alice (mover)',
    pre: (f) => held(f, 'v2'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, { params: c.params, from, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey) })
    },
    expect: { revert: 'NotHeldState' },
  },
  {
    given: 'v1 held', call: 'forceProgress on co-signed v1 passed with signatures (not newer)', signer: 'alice (mover)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, { params: c.params, from, fromSignatures: sg(c, 'v1').signatures, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey) })
    },
    expect: { revert: 'StaleVersion', args: () => [1n, 1n] },
  },
  {
    given: 'v1 held', call: 'forceProgress with mover index 2', signer: 'carol (not a participant)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.carol.client, { params: c.params, from, mover: 2n, action: FUND, moverSignature: signMove(c.params, from, 2n, FUND, f.carol.privateKey) })
    },
    expect: { revert: 'InvalidMover', args: () => [2n] },
  },
  {
    given: 'v1 held', call: 'forceProgress as mover 0', signer: 'carol (not a participant)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.carol.client, { params: c.params, from, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.carol.privateKey) })
    },
    expect: { revert: 'NotMover', args: (f) => [0n, f.carol.address] },
  },
  {
    given: 'v1 held', call: 'forceProgress without a mover signature', signer: 'nobody',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => forceProgress(f.alice.client, { params: c.params, from: st(c, 'v1'), mover: 0n, action: FUND, moverSignature: '0x' }),
    expect: { revert: 'BadSignatureLength', args: () => [0n] },
  },
  {
    given: 'v1 held', call: 'forceProgress FUND with a signature over RELEASE', signer: 'alice (other action)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, { params: c.params, from, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, escrowActions.release(), f.alice.privateKey) })
    },
    expect: { revert: 'NotMover', args: () => [0n, undefined] },
  },
  {
    given: 'open funded channel (nothing held)', call: 'forceProgress on v1 without signatures', signer: 'alice (mover)',
    pre: (f) => channel(f),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, { params: c.params, from, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey) })
    },
    expect: { revert: 'NoDispute' },
  },
  {
    given: 'BrokenApp channel, v1 held', call: 'forceProgress: the app mints one wei', signer: 'alice (mover)',
    pre: async (f) => {
      const c = await channel(f, { params: f.brokenParams() })
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v1') })
      return c
    },
    act: (f, c) => brokenStep(f, c, 0),
    expect: { revert: 'NotConserved', args: () => [1000n, 1001n] },
  },
  {
    given: 'BrokenApp channel, v1 held', call: 'forceProgress: the app returns one balance', signer: 'alice (mover)',
    pre: async (f) => {
      const c = await channel(f, { params: f.brokenParams() })
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v1') })
      return c
    },
    act: (f, c) => brokenStep(f, c, 1),
    expect: { revert: 'BalancesLength', args: () => [1n, 2n] },
  },
  {
    given: 'v1 held', call: 'forceProgress RELEASE by bob (the app says NotPayer)', signer: 'bob (mover)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      const action = escrowActions.release()
      return forceProgress(f.bob.client, { params: c.params, from, mover: 1n, action, moverSignature: signMove(c.params, from, 1n, action, f.bob.privateKey), appAbi: Escrow.abi })
    },
    expect: { revert: 'AppReverted', appError: ['NotPayer', [1n]] },
  },
  {
    given: 'channel whose appCodeHash is not the app\'s code, v1 held', call: 'forceProgress FUND', signer: 'alice (mover)',
    pre: async (f) => {
      const c = await channel(f, { params: f.escrowParams({ appCodeHash: dummyHash('not the escrow') }) })
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v1') })
      return c
    },
    act: (f, c) => forcedFund(f, c),
    expect: { revert: 'AppCodeMismatch' },
  },
  {
    given: 'v1 held, timeout passed', call: 'forceProgress FUND', signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => forcedFund(f, c),
    expect: { revert: 'DisputeExpired' },
  },
  {
    given: 'final v3 held', call: 'forceProgress on it', signer: 'alice (mover)',
    pre: (f) => held(f, 'final3'),
    act: (f, c) => {
      const from = st(c, 'final3')
      return forceProgress(f.alice.client, { params: c.params, from, mover: 0n, action: FUND, moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey) })
    },
    expect: { revert: 'StateIsFinal' },
  },
  {
    given: 'forced chain v2 (FUND), v3 (RELEASE) on v1', call: 'register co-signed v4', signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const v2 = await forcedFund(f, c)
      const release = escrowActions.release()
      const r = await f.forceAndCheck(f.alice.client, { params: c.params, from: v2, mover: 0n, action: release, moverSignature: signMove(c.params, v2, 0n, release, f.alice.privateKey) })
      assert.equal(r.state.version, 3n)
      assert.deepEqual(r.state.balances, [500n, 500n])
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v4') }),
    expect: { check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 4n, stateOf: st(c, 'v4') }) },
  },
  {
    given: 'forced chain v2, v3 on v1', call: 'register co-signed v3 (equal to the forced version)', signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const v2 = await forcedFund(f, c)
      const release = escrowActions.release()
      await f.forceAndCheck(f.alice.client, { params: c.params, from: v2, mover: 0n, action: release, moverSignature: signMove(c.params, v2, 0n, release, f.alice.privateKey) })
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v3') }),
    // A co-signed state outranks a forced one of the same version: forcing steps on an old state
    // cannot overwrite co-signed history.
    expect: { check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 3n, stateOf: st(c, 'v3') }) },
  },
  {
    given: 'forced v2 (FUND) on v1', call: 'register the co-signed v2 (same version as the forced state)', signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await forcedFund(f, c)
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: { check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 2n, stateOf: st(c, 'v2') }) },
  },
  // ------------------------------------------------------------------ conclude
  {
    given: 'v1 held, before the timeout', call: 'conclude v1', signer: '-',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') }),
    expect: { revert: 'DisputeActive' },
  },
  {
    given: 'v1 held, timeout passed', call: 'conclude v1', signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') })),
    expect: {
      check: async (f, c, r) => {
        assert.deepEqual(r, [600n, 400n])
        await expectRecord(f, c, { status: 'concluded', version: 1n })
        assert.equal((await getChannelRecord(f.alice.client, c.id)).holdings, 0n)
      },
    },
  },
  {
    given: 'v2 held, timeout passed', call: 'conclude with v1 (not the state held)', signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v2')
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') }),
    expect: { revert: 'NotHeldState' },
  },
  {
    given: 'open funded channel (nothing held)', call: 'conclude v1', signer: '-',
    pre: (f) => channel(f),
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') }),
    expect: { revert: 'NoDispute' },
  },
  {
    given: 'forced v2 (FUND 100) on v1, timeout passed', call: 'conclude the forced state', signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1')
      c.s.forced = await forcedFund(f, c)
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'forced') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [600n, 400n]) },
  },
  {
    given: 'v1 held, underfunded (alice deposited 700 of 1000), timeout passed', call: 'conclude v1', signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1', { holdings: 700n })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') })),
    // Never fully funded: each participant gets back what it deposited, not the state's balances.
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [700n, 0n]) },
  },
  {
    given: 'v1 held, overfunded (1101 for 1000), timeout passed', call: 'conclude v1', signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1', { holdings: 1101n })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [651n, 450n]) },
  },
  // ------------------------------------------------------------------ concludeFinal
  {
    given: 'v1 held, dispute running', call: 'concludeFinal co-signed final v3', signer: 'alice+bob',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => creditsDuring(f, () => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })),
    expect: {
      check: async (f, c, r) => {
        assert.deepEqual(r, [300n, 700n])
        await expectRecord(f, c, { status: 'concluded', version: 3n })
      },
    },
  },
  {
    given: 'open funded channel', call: 'concludeFinal co-signed final v3', signer: 'alice+bob',
    pre: (f) => channel(f),
    act: (f, c) => creditsDuring(f, () => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [300n, 700n]) },
  },
  {
    given: 'open funded channel', call: 'concludeFinal co-signed non-final v2', signer: 'alice+bob',
    pre: (f) => channel(f),
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: { revert: 'NotFinal' },
  },
  {
    given: 'v3 held', call: 'concludeFinal co-signed final v2 (older)', signer: 'alice+bob',
    pre: (f) => held(f, 'v3'),
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final2') }),
    expect: { revert: 'StaleVersion', args: () => [2n, 3n] },
  },
  {
    given: 'concluded channel', call: 'concludeFinal again', signer: 'alice+bob',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') }),
    expect: { revert: 'ChannelConcluded' },
  },
  {
    given: 'concluded channel', call: 'register co-signed v4', signer: 'alice+bob',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v4') }),
    expect: { revert: 'ChannelConcluded' },
  },
  // ------------------------------------------------------------------ deposit / withdraw
  {
    given: 'concluded channel', call: 'deposit 1 wei', signer: 'alice (sender)',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f, c) => deposit(f.alice.client, { channelId: c.id, participant: f.alice.address, amount: 1n }),
    expect: { revert: 'ChannelConcluded' },
  },
  {
    given: 'alice was paid and withdrew', call: 'withdraw again', signer: 'alice (sender)',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      await withdraw(f.alice.client)
      return c
    },
    act: (f) => withdraw(f.alice.client),
    expect: { revert: 'NothingToWithdraw', args: (f) => [f.alice.address] },
  },
  {
    given: 'bob was paid', call: 'withdraw to a contract that refuses ETH', signer: 'bob (sender)',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f) => withdraw(f.bob.client, { to: f.deployment.adjudicator.address }),
    expect: { revert: 'TransferFailed' },
  },
]

async function brokenStep(f: ChainFixture, c: Ctx, kind: number): Promise<unknown> {
  const from = st(c, 'v1')
  const action = encodeAbiParameters([{ type: 'uint8' }], [kind])
  return forceProgress(f.alice.client, { params: c.params, from, mover: 0n, action, moverSignature: signMove(c.params, from, 0n, action, f.alice.privateKey) })
}

/** Runs a payout and returns what alice's and bob's credits grew by; checks it against the Concluded event. */
async function creditsDuring(f: ChainFixture, pay: () => Promise<{ payouts: bigint[] }>): Promise<bigint[]> {
  const before = [await getWithdrawable(f.alice.client, f.alice.address), await getWithdrawable(f.alice.client, f.bob.address)]
  const r = await pay()
  const after = [await getWithdrawable(f.alice.client, f.alice.address), await getWithdrawable(f.alice.client, f.bob.address)]
  const grew = after.map((a, i) => a - (before[i] ?? 0n))
  assert.deepEqual(grew, r.payouts, 'the credits match the Concluded event')
  return grew
}

describe('Adjudicator disputes (table, on anvil)', function () {
  let f: ChainFixture
  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    await f?.stop()
  })

  for (const row of rows) {
    const title = `given ${row.given}, ${row.call} signed by ${row.signer} → ${'revert' in row.expect ? row.expect.revert : 'ok'}`
    it(title, async () => {
      const c = await row.pre(f)
      const expect = row.expect
      if ('revert' in expect) {
        await assert.rejects(row.act(f, c), (e: unknown) => {
          assert(e instanceof AdjudicatorRevertError, `expected ${expect.revert}, got ${String(e)}`)
          assert.equal(e.code, 'CONTRACT_REVERT')
          assert.equal(e.errorName, expect.revert, e.message)
          assert.equal(e.channelId === undefined || e.channelId === c.id || row.call.startsWith('withdraw'), true)
          if (expect.appError !== undefined) {
            // The app's own error comes back inside AppReverted, decoded with the app ABI.
            assert.equal(e.appError?.name, expect.appError[0])
            assert.deepEqual(e.appError?.args, expect.appError[1])
          }
          const want = expect.args?.(f, c)
          if (want !== undefined) {
            want.forEach((w, i) => {
              if (w === undefined) return
              const got = e.errorArgs[i]
              assert.equal(typeof got === 'string' ? got.toLowerCase() : got, typeof w === 'string' ? w.toLowerCase() : w, `argument ${i} of ${e.errorName}`)
            })
          }
          return true
        })
      } else {
        const r = await row.act(f, c)
        await expect.check(f, c, r)
      }
    })
  }

  it('a signature over one state does not register another (signature and state are bound)', async () => {
    const c = await channel(f)
    const v1 = st(c, 'v1')
    const v2 = st(c, 'v2')
    await assert.rejects(
      register(f.alice.client, { params: c.params, signed: { state: v2, signatures: [signState(c.params, v1, f.alice.privateKey), signState(c.params, v2, f.bob.privateKey)] } }),
      (e: unknown) => e instanceof AdjudicatorRevertError && e.errorName === 'NotSigner' && e.errorArgs[0] === 0n,
    )
  })
})
