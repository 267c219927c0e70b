// The dispute rules of the Adjudicator as a table, on a real anvil: each row is a precondition, a
// call, who signed, and the expected result (a check of the chain afterwards, or a custom error).
import assert from 'node:assert/strict'
import { encodeAbiParameters, type Hex } from 'viem'
import { decodeEscrowData, escrowActions, signRuling } from '../../apps/escrow/escrowClient.ts'
import { AdjudicatorRevertError } from '../../engine/adjudicator/toAdjudicatorError.ts'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { withdraw } from '../../engine/adjudicator/withdraw.ts'
import {
  getChannelId,
  hashStateStruct,
  signState,
  type ChannelParams,
  type SignedState,
  type State,
} from '../../engine/channel/index.ts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { runTransition } from '../../engine/sandbox/index.ts'
import {
  CHALLENGE,
  dummyHash,
  startChainFixture,
  toHighS,
  type ChainFixture,
  type ForcedStep,
} from '../support/anvilFixture.ts'

/** A channel under test: its states by name, co-signed, and times (unix seconds) a row noted. */
type Ctx = {
  params: ChannelParams
  id: Hex
  s: Record<string, State>
  signed: Record<string, SignedState>
  t: Record<string, bigint>
}

type Row = {
  given: string
  call: string
  signer: string
  pre: (f: ChainFixture) => Promise<Ctx>
  act: (f: ChainFixture, c: Ctx) => Promise<unknown>
  /** A custom error name (and optionally its arguments), or a check of the outcome. */
  expect:
    | {
        revert: string
        args?: (f: ChainFixture, c: Ctx) => readonly unknown[]
        appError?: [string, readonly unknown[]]
      }
    | { check: (f: ChainFixture, c: Ctx, result: unknown) => Promise<void> }
}

const BAL = [600n, 400n] as const
const FUND = escrowActions.fund(100n, 10n ** 12n)

/**
 * A fresh Escrow channel with co-signed states v0..v4 whose balances sum to 1000: by default alice
 * deposits all 1000 (`holdings`); with `deposits`, alice and bob each deposit their share themselves.
 */
async function channel(
  f: ChainFixture,
  opts: { holdings?: bigint; deposits?: readonly [bigint, bigint]; params?: ChannelParams } = {},
): Promise<Ctx> {
  const params = opts.params ?? f.escrowParams()
  const id = getChannelId(params)
  if (opts.deposits !== undefined) {
    const [a, b] = opts.deposits
    if (a > 0n) await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: a })
    if (b > 0n) await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: b })
  } else {
    const holdings = opts.holdings ?? 1000n
    if (holdings > 0n)
      await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: holdings })
  }
  const s = {
    v0: f.state(params, 0n, BAL),
    v1: f.state(params, 1n, BAL),
    v2: f.state(params, 2n, [550n, 450n], { escrowId: 1n }),
    v2b: f.state(params, 2n, [500n, 500n], { escrowId: 1n }),
    v3: f.state(params, 3n, [500n, 500n], { escrowId: 2n }),
    v4: f.state(params, 4n, [450n, 550n], { escrowId: 3n }),
    final3: f.state(params, 3n, [300n, 700n], { escrowId: 2n }, true),
    final2: f.state(params, 2n, [300n, 700n], { escrowId: 1n }, true),
  }
  const signed = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, f.cosign(params, v)]))
  return { params, id, s, signed, t: {} }
}

/** `channel`, then bob registers the co-signed `version`; `t.t0` is when the dispute opened. */
async function held(
  f: ChainFixture,
  version: 'v0' | 'v1' | 'v2' | 'v3' | 'final3',
  opts: Parameters<typeof channel>[1] = {},
): Promise<Ctx> {
  const c = await channel(f, opts)
  const signed = c.signed[version]
  assert(signed)
  const r = await register(f.bob.client, { params: c.params, signed })
  c.t.t0 = r.finalizesAt - CHALLENGE
  return c
}

/** The next Escrow move alice (the payer, mover 0) can always make: FUND 1 wei when idle, RELEASE when funded. */
function aliceMove(from: State): Hex {
  return decodeEscrowData(from.appData).funded ? escrowActions.release() : escrowActions.fund(1n, 10n ** 12n)
}

/** Alice forces `count` steps on the state held, one transaction each; returns the last state. */
async function forceSteps(f: ChainFixture, c: Ctx, from: State, count: number): Promise<State> {
  let s = from
  for (let i = 0; i < count; i++) {
    const action = aliceMove(s)
    s = (
      await f.forceAndCheck(f.alice.client, {
        params: c.params,
        from: s,
        mover: 0n,
        action,
        moverSignature: signMove(c.params, s, 0n, action, f.alice.privateKey),
      })
    ).state
  }
  return s
}

/**
 * `count` steps of alice from `from`, precomputed in the sandbox and signed in advance, for one
 * MultiForcer transaction (Escrow's FUND with a far deadline and RELEASE do not read the Env, so
 * the chain computes the same states). The first step carries `fromSignatures` when given.
 */
async function plannedSteps(
  f: ChainFixture,
  params: ChannelParams,
  from: State,
  count: number,
  fromSignatures?: readonly Hex[],
): Promise<{ steps: ForcedStep[]; last: State }> {
  const steps: ForcedStep[] = []
  let s = from
  const env = {
    blockNumber: (await f.alice.client.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n,
    timestamp: (await f.now()) + 1n,
  }
  for (let i = 0; i < count; i++) {
    const action = aliceMove(s)
    const sigs = i === 0 && fromSignatures !== undefined ? { fromSignatures } : {}
    steps.push({
      from: s,
      ...sigs,
      mover: 0n,
      action,
      moverSignature: signMove(params, s, 0n, action, f.alice.privateKey),
    })
    const r = await runTransition(f.sandbox, {
      params,
      from: s,
      mover: 0n,
      action,
      env,
      appCode: Escrow.deployedBytecode,
    })
    assert(r.ok, r.ok ? '' : r.message)
    s = r.state
  }
  return { steps, last: s }
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
  const r = await f.forceAndCheck(f.alice.client, {
    params: c.params,
    from,
    mover: 0n,
    action: FUND,
    moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
  })
  return r.state
}

async function expectRecord(
  f: ChainFixture,
  c: Ctx,
  want: { status: string; version: bigint; baseVersion?: bigint; stateOf?: State },
): Promise<void> {
  const rec = await getChannelRecord(f.alice.client, c.id)
  assert.equal(rec.status, want.status)
  assert.equal(rec.version, want.version)
  if (want.baseVersion !== undefined) {
    assert.equal(rec.baseVersion, want.baseVersion, 'baseVersion')
    assert.equal(rec.forced, rec.version > want.baseVersion, 'forced')
  }
  if (want.stateOf !== undefined)
    assert.equal(rec.stateHash, `0x${Buffer.from(hashStateStruct(want.stateOf)).toString('hex')}`)
}

const recordOf = (f: ChainFixture, c: Ctx) => getChannelRecord(f.alice.client, c.id)

const rows: Row[] = [
  // ------------------------------------------------------------------ register
  {
    given: 'open funded channel',
    call: 'register co-signed v1',
    signer: 'alice+bob',
    pre: (f) => channel(f),
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: {
      check: async (f, c, r) => {
        await expectRecord(f, c, { status: 'disputed', version: 1n, baseVersion: 1n, stateOf: st(c, 'v1') })
        const t0 = await f.now()
        const { finalizesAt, movesUntil } = r as { finalizesAt: bigint; movesUntil: bigint }
        assert.equal(finalizesAt, t0 + CHALLENGE)
        assert.equal(movesUntil, t0 + CHALLENGE)
        const rec = await recordOf(f, c)
        assert.equal(rec.finalizesAt, t0 + CHALLENGE)
        assert.equal(rec.movesUntil, t0 + CHALLENGE)
        assert.equal(rec.holdings, 1000n)
      },
    },
  },
  {
    given: 'stale v1 held',
    call: 'register co-signed v2 (refute)',
    signer: 'alice+bob',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: {
      check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 2n, stateOf: st(c, 'v2') }),
    },
  },
  {
    given: 'v2 held',
    call: 'register co-signed v1 (lower)',
    signer: 'alice+bob',
    pre: (f) => held(f, 'v2'),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: { revert: 'StaleVersion', args: () => [1n, 2n] },
  },
  {
    given: 'v2 held',
    call: 'register another co-signed v2 (equal)',
    signer: 'alice+bob',
    pre: (f) => held(f, 'v2'),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v2b') }),
    expect: { revert: 'StaleVersion', args: () => [2n, 2n] },
  },
  {
    given: 'open funded channel',
    call: 'register v1',
    signer: 'alice + carol (not a participant) for bob',
    pre: (f) => channel(f),
    act: (f, c) =>
      register(f.alice.client, {
        params: c.params,
        signed: f.cosign(c.params, st(c, 'v1'), [f.alice.privateKey, f.carol.privateKey]),
      }),
    expect: { revert: 'NotSigner', args: (f) => [1n, f.carol.address] },
  },
  {
    given: 'open funded channel',
    call: 'register v1',
    signer: "alice's signature in high-s form",
    pre: (f) => channel(f),
    act: (f, c) => {
      const s = sg(c, 'v1')
      return register(f.alice.client, {
        params: c.params,
        signed: { state: s.state, signatures: [toHighS(s.signatures[0] as Hex), s.signatures[1] as Hex] },
      })
    },
    expect: { revert: 'HighS' },
  },
  {
    given: 'open funded channel',
    call: 'register v1',
    signer: 'alice+bob over chain id 1',
    pre: (f) => channel(f),
    act: (f, c) =>
      register(f.alice.client, {
        params: c.params,
        signed: f.cosign({ ...c.params, chainId: 1n }, st(c, 'v1')),
      }),
    expect: { revert: 'NotSigner', args: () => [0n, undefined] },
  },
  {
    given: 'open funded channel',
    call: 'register v1',
    signer: 'alice+bob for another adjudicator',
    pre: (f) => channel(f),
    act: (f, c) =>
      register(f.alice.client, {
        params: c.params,
        signed: f.cosign({ ...c.params, adjudicator: f.deployment.apps.Escrow!.address }, st(c, 'v1')),
      }),
    expect: { revert: 'NotSigner', args: () => [0n, undefined] },
  },
  {
    given: 'channel whose params name chain id 1',
    call: 'register v1',
    signer: 'alice+bob',
    pre: (f) => channel(f, { params: f.escrowParams({ chainId: 1n }), holdings: 0n }),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: { revert: 'WrongChainId', args: () => [1n, 31337n] },
  },
  {
    given: 'channel whose params name another adjudicator',
    call: 'register v1',
    signer: 'alice+bob',
    pre: (f) => channel(f, { params: f.escrowParams({ adjudicator: f.carol.address }), holdings: 0n }),
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v1') }),
    expect: { revert: 'WrongAdjudicator', args: (f) => [f.carol.address] },
  },
  {
    given: 'open funded channel',
    call: 'register v1 with one signature',
    signer: 'alice only',
    pre: (f) => channel(f),
    act: (f, c) =>
      register(f.alice.client, {
        params: c.params,
        signed: f.cosign(c.params, st(c, 'v1'), [f.alice.privateKey]),
      }),
    expect: { revert: 'SignatureCount', args: () => [1n, 2n] },
  },
  {
    given: 'open funded channel',
    call: 'register v1 with a 64-byte signature',
    signer: 'alice (truncated) + bob',
    pre: (f) => channel(f),
    act: (f, c) => {
      const s = sg(c, 'v1')
      return register(f.alice.client, {
        params: c.params,
        signed: {
          state: s.state,
          signatures: [(s.signatures[0] as Hex).slice(0, 130) as Hex, s.signatures[1] as Hex],
        },
      })
    },
    expect: { revert: 'BadSignatureLength', args: () => [64n] },
  },
  {
    given: 'v1 held, timeout passed',
    call: 'register co-signed v2',
    signer: 'alice+bob',
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
    given: 'v1 held',
    call: 'forceProgress FUND (mover 0, the payer)',
    signer: 'alice (mover)',
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
    given: 'open funded channel (nothing held)',
    call: 'forceProgress FUND on co-signed v1 with its signatures',
    signer: 'alice+bob (base), alice (mover)',
    pre: (f) => channel(f),
    act: (f, c) => {
      const from = st(c, 'v1')
      return f.forceAndCheck(f.alice.client, {
        params: c.params,
        from,
        fromSignatures: sg(c, 'v1').signatures,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: {
      check: async (f, c, r) => {
        // The call opens the dispute at its block's time: both deadlines at t0 + D, the base announced first.
        const { events, env } = r as Awaited<ReturnType<typeof forceProgress>>
        assert.deepEqual(
          events.map((e) => e.eventName),
          ['Registered', 'Progressed'],
        )
        const [reg, prog] = events
        assert(reg?.eventName === 'Registered' && prog?.eventName === 'Progressed')
        assert.deepEqual(reg.args.state, st(c, 'v1'))
        assert.deepEqual(
          [reg.args.finalizesAt, reg.args.movesUntil],
          [Number(env.timestamp + CHALLENGE), Number(env.timestamp + CHALLENGE)],
        )
        assert.deepEqual(
          [prog.args.finalizesAt, prog.args.baseVersion, prog.args.mover],
          [Number(env.timestamp + CHALLENGE), 1n, 0n],
        )
        await expectRecord(f, c, { status: 'disputed', version: 2n, baseVersion: 1n })
      },
    },
  },
  {
    given: 'v2 held',
    call: 'forceProgress on v1 without signatures',
    signer: 'alice (mover)',
    pre: (f) => held(f, 'v2'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, {
        params: c.params,
        from,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: { revert: 'NotHeldState' },
  },
  {
    given: 'v1 held',
    call: 'forceProgress on co-signed v1 passed with signatures (not newer)',
    signer: 'alice (mover)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, {
        params: c.params,
        from,
        fromSignatures: sg(c, 'v1').signatures,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: { revert: 'StaleVersion', args: () => [1n, 1n] },
  },
  {
    given: 'v1 held',
    call: 'forceProgress with mover index 2',
    signer: 'carol (not a participant)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.carol.client, {
        params: c.params,
        from,
        mover: 2n,
        action: FUND,
        moverSignature: signMove(c.params, from, 2n, FUND, f.carol.privateKey),
      })
    },
    expect: { revert: 'InvalidMover', args: () => [2n] },
  },
  {
    given: 'v1 held',
    call: 'forceProgress as mover 0',
    signer: 'carol (not a participant)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.carol.client, {
        params: c.params,
        from,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.carol.privateKey),
      })
    },
    expect: { revert: 'NotMover', args: (f) => [0n, f.carol.address] },
  },
  {
    given: 'v1 held',
    call: 'forceProgress without a mover signature',
    signer: 'nobody',
    pre: (f) => held(f, 'v1'),
    act: (f, c) =>
      forceProgress(f.alice.client, {
        params: c.params,
        from: st(c, 'v1'),
        mover: 0n,
        action: FUND,
        moverSignature: '0x',
      }),
    expect: { revert: 'BadSignatureLength', args: () => [0n] },
  },
  {
    given: 'v1 held',
    call: 'forceProgress FUND with a signature over RELEASE',
    signer: 'alice (other action)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, {
        params: c.params,
        from,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, escrowActions.release(), f.alice.privateKey),
      })
    },
    expect: { revert: 'NotMover', args: () => [0n, undefined] },
  },
  {
    given: 'open funded channel (nothing held)',
    call: 'forceProgress on v1 without signatures',
    signer: 'alice (mover)',
    pre: (f) => channel(f),
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, {
        params: c.params,
        from,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: { revert: 'NoDispute' },
  },
  {
    given: 'BrokenApp channel, v1 held',
    call: 'forceProgress: the app mints one wei',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await channel(f, { params: f.brokenParams() })
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v1') })
      return c
    },
    act: (f, c) => brokenStep(f, c, 0),
    expect: { revert: 'NotConserved', args: () => [1000n, 1001n] },
  },
  {
    given: 'BrokenApp channel, v1 held',
    call: 'forceProgress: the app returns one balance',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await channel(f, { params: f.brokenParams() })
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v1') })
      return c
    },
    act: (f, c) => brokenStep(f, c, 1),
    expect: { revert: 'BalancesLength', args: () => [1n, 2n] },
  },
  {
    given: 'v1 held',
    call: 'forceProgress RELEASE by bob (the app says NotPayer)',
    signer: 'bob (mover)',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => {
      const from = st(c, 'v1')
      const action = escrowActions.release()
      return forceProgress(f.bob.client, {
        params: c.params,
        from,
        mover: 1n,
        action,
        moverSignature: signMove(c.params, from, 1n, action, f.bob.privateKey),
        appAbi: Escrow.abi,
      })
    },
    expect: { revert: 'AppReverted', appError: ['NotPayer', [1n]] },
  },
  {
    given: "channel whose appCodeHash is not the app's code, v1 held",
    call: 'forceProgress FUND',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await channel(f, { params: f.escrowParams({ appCodeHash: dummyHash('not the escrow') }) })
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v1') })
      return c
    },
    act: (f, c) => forcedFund(f, c),
    expect: { revert: 'AppCodeMismatch' },
  },
  {
    given: 'v1 held, timeout passed',
    call: 'forceProgress FUND',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => forcedFund(f, c),
    expect: { revert: 'DisputeExpired' },
  },
  {
    given: 'final v3 held',
    call: 'forceProgress on it',
    signer: 'alice (mover)',
    pre: (f) => held(f, 'final3'),
    act: (f, c) => {
      const from = st(c, 'final3')
      return forceProgress(f.alice.client, {
        params: c.params,
        from,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: { revert: 'StateIsFinal' },
  },
  {
    given: 'forced chain v2 (FUND), v3 (RELEASE) on v1',
    call: 'register co-signed v4',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const v2 = await forcedFund(f, c)
      const release = escrowActions.release()
      const r = await f.forceAndCheck(f.alice.client, {
        params: c.params,
        from: v2,
        mover: 0n,
        action: release,
        moverSignature: signMove(c.params, v2, 0n, release, f.alice.privateKey),
      })
      assert.equal(r.state.version, 3n)
      assert.deepEqual(r.state.balances, [500n, 500n])
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v4') }),
    expect: {
      check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 4n, stateOf: st(c, 'v4') }),
    },
  },
  {
    given: 'forced chain v2, v3 on v1',
    call: 'register co-signed v3 (equal to the forced version)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const v2 = await forcedFund(f, c)
      const release = escrowActions.release()
      await f.forceAndCheck(f.alice.client, {
        params: c.params,
        from: v2,
        mover: 0n,
        action: release,
        moverSignature: signMove(c.params, v2, 0n, release, f.alice.privateKey),
      })
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v3') }),
    // Any co-signed state above the chain's base (v1) replaces the chain, here one of the forced
    // version itself: forcing steps on an old state cannot overwrite co-signed history.
    expect: {
      check: (f, c) =>
        expectRecord(f, c, { status: 'disputed', version: 3n, baseVersion: 3n, stateOf: st(c, 'v3') }),
    },
  },
  {
    given: 'forced v2 (FUND) on v1',
    call: 'register the co-signed v2 (same version as the forced state)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await forcedFund(f, c)
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: {
      check: (f, c) => expectRecord(f, c, { status: 'disputed', version: 2n, stateOf: st(c, 'v2') }),
    },
  },
  // ------------------------------------------------------------------ forced chains (outranking by base)
  {
    given: 'v1 held, then 3 forced steps in ONE transaction (v4 forced, base 1)',
    call: 'register co-signed v2 (above the base, below the forced version)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const { steps } = await plannedSteps(f, c.params, st(c, 'v1'), 3)
      const r = await f.forceMany(f.alice.client, c.params, steps)
      assert.deepEqual(
        r.events.map((e) => e.eventName),
        ['Progressed', 'Progressed', 'Progressed'],
      )
      await expectRecord(f, c, { status: 'disputed', version: 4n, baseVersion: 1n })
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: {
      check: (f, c) =>
        expectRecord(f, c, { status: 'disputed', version: 2n, baseVersion: 2n, stateOf: st(c, 'v2') }),
    },
  },
  {
    given: 'v2 held, then forced v3, v4 (base 2)',
    call: 'register another co-signed v2 (equal to the base)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v2')
      await forceSteps(f, c, st(c, 'v2'), 2)
      await expectRecord(f, c, { status: 'disputed', version: 4n, baseVersion: 2n })
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v2b') }),
    expect: { revert: 'StaleVersion', args: () => [2n, 2n] },
  },
  {
    given: 'v2 held, then forced v3, v4 (base 2)',
    call: 'register co-signed v1 (below the base)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v2')
      await forceSteps(f, c, st(c, 'v2'), 2)
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v1') }),
    // An honestly forced chain is not undone by an older co-signed state.
    expect: { revert: 'StaleVersion', args: () => [1n, 2n] },
  },
  {
    given: 'v1 held, then forced v2..v4 (base 1)',
    call: 'concludeFinal co-signed final v2 (above the base, below the forced version)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await forceSteps(f, c, st(c, 'v1'), 3)
      return c
    },
    act: (f, c) =>
      creditsDuring(f, () => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final2') })),
    expect: {
      check: async (f, c, r) => {
        assert.deepEqual(r, [300n, 700n])
        await expectRecord(f, c, { status: 'concluded', version: 2n })
      },
    },
  },
  {
    given: 'v2 held, then forced v3, v4 (base 2)',
    call: 'concludeFinal another co-signed final v2 (equal to the base)',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v2')
      await forceSteps(f, c, st(c, 'v2'), 2)
      return c
    },
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final2') }),
    expect: { revert: 'StaleVersion', args: () => [2n, 2n] },
  },
  {
    given: 'v1 held, then forced v2, v3 (base 1)',
    call: 'forceProgress FUND on co-signed v2 passed with signatures (above the base)',
    signer: 'alice+bob (base), alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await forceSteps(f, c, st(c, 'v1'), 2)
      c.t.finalizesAt = (await recordOf(f, c)).finalizesAt
      return c
    },
    act: (f, c) => {
      const from = st(c, 'v2')
      return f.forceAndCheck(f.alice.client, {
        params: c.params,
        from,
        fromSignatures: sg(c, 'v2').signatures,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: {
      check: async (f, c, r) => {
        const { events, baseVersion, state, env } = r as Awaited<ReturnType<typeof forceProgress>>
        // The base the call registered is announced before the step, with the deadlines it moved to
        // now + D (forced steps on a new base stay possible for a full D).
        assert.deepEqual(
          events.map((e) => e.eventName),
          ['Registered', 'Progressed'],
        )
        const reg = events[0]
        assert(reg?.eventName === 'Registered')
        assert.equal(reg.args.state.version, 2n)
        assert.equal(BigInt(reg.args.finalizesAt), env.timestamp + CHALLENGE)
        assert(env.timestamp + CHALLENGE >= (c.t.finalizesAt ?? 0n))
        assert.equal(BigInt(reg.args.movesUntil), env.timestamp + CHALLENGE)
        assert.equal(baseVersion, 2n)
        assert.equal(state.version, 3n)
        const rec = await recordOf(f, c)
        assert.equal(rec.finalizesAt, env.timestamp + CHALLENGE)
        await expectRecord(f, c, { status: 'disputed', version: 3n, baseVersion: 2n, stateOf: state })
      },
    },
  },
  {
    given: 'v1 held, then forced v2, v3 (base 1)',
    call: 'forceProgress on co-signed v1 passed with signatures (equal to the base)',
    signer: 'alice+bob (base), alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await forceSteps(f, c, st(c, 'v1'), 2)
      return c
    },
    act: (f, c) => {
      const from = st(c, 'v1')
      return forceProgress(f.alice.client, {
        params: c.params,
        from,
        fromSignatures: sg(c, 'v1').signatures,
        mover: 0n,
        action: FUND,
        moverSignature: signMove(c.params, from, 0n, FUND, f.alice.privateKey),
      })
    },
    expect: { revert: 'StaleVersion', args: () => [1n, 1n] },
  },
  // ------------------------------------------------------------------ bounded disputes (t0 + D, t0 + 2D)
  {
    given: 'v1 held since t0, forced v2 at t0 + 50, clock at movesUntil = t0 + D',
    call: 'forceProgress on the state held',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + 50n)
      c.s.forced = await forceSteps(f, c, st(c, 'v1'), 1)
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + CHALLENGE)
      return c
    },
    act: (f, c) => forceSteps(f, c, st(c, 'forced'), 1),
    expect: { revert: 'MovesClosed', args: (_f, c) => [c.id, Number((c.t.t0 ?? 0n) + CHALLENGE)] },
  },
  {
    given: 'v1 held since t0',
    call: 'forceProgress at t0 + D - 10 (the last moment is t0 + D - 1)',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + CHALLENGE - 10n)
      return c
    },
    act: (f, c) => forceSteps(f, c, st(c, 'v1'), 1),
    expect: {
      check: async (f, c) => {
        const t0 = c.t.t0 ?? 0n
        const rec = await recordOf(f, c)
        // The other side gets a full D to answer the step; the bound t0 + 2D holds.
        assert.equal(rec.finalizesAt, t0 + CHALLENGE - 10n + CHALLENGE)
        assert(rec.finalizesAt <= t0 + 2n * CHALLENGE)
        assert.equal(rec.movesUntil, t0 + CHALLENGE, 'a forced step does not move movesUntil')
      },
    },
  },
  {
    given: 'v1 held since t0, clock at t0 + 50',
    call: 'register co-signed v2',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + 50n)
      return c
    },
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: {
      check: async (f, c, r) => {
        const t0 = c.t.t0 ?? 0n
        const rec = await recordOf(f, c)
        // Forced steps on the new base stay possible for a full D: both deadlines at now + D.
        assert.equal(rec.finalizesAt, t0 + 50n + CHALLENGE)
        assert.equal(rec.movesUntil, t0 + 50n + CHALLENGE)
        assert.deepEqual(
          [(r as { finalizesAt: bigint }).finalizesAt, (r as { movesUntil: bigint }).movesUntil],
          [t0 + 50n + CHALLENGE, t0 + 50n + CHALLENGE],
          'the Registered event carries the new deadlines',
        )
        await expectRecord(f, c, { status: 'disputed', version: 2n, baseVersion: 2n, stateOf: st(c, 'v2') })
      },
    },
  },
  {
    given: 'v1 held since t0, forced v2 at t0 + D - 10, clock at t0 + D + 20 (moves closed, dispute runs)',
    call: 'register co-signed v3',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + CHALLENGE - 10n)
      await forceSteps(f, c, st(c, 'v1'), 1)
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + CHALLENGE + 20n)
      return c
    },
    act: (f, c) => register(f.bob.client, { params: c.params, signed: sg(c, 'v3') }),
    expect: {
      check: async (f, c) => {
        const t0 = c.t.t0 ?? 0n
        const rec = await recordOf(f, c)
        // The forced chain is gone; its mover gets a full D to force again on v3.
        assert.equal(rec.movesUntil, t0 + 2n * CHALLENGE + 20n, 'moves reopen on the new base')
        assert.equal(rec.finalizesAt, t0 + 2n * CHALLENGE + 20n)
        await expectRecord(f, c, { status: 'disputed', version: 3n, baseVersion: 3n, stateOf: st(c, 'v3') })
      },
    },
  },
  {
    given:
      'v1 held since t0, forced v2 at t0 + D - 10, co-signed v3 registered at t0 + D + 20, clock at t0 + D + 30',
    call: 'forceProgress on v3 (the state held)',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const t0 = c.t.t0 ?? 0n
      await f.setNextBlockTimestamp(t0 + CHALLENGE - 10n)
      await forceSteps(f, c, st(c, 'v1'), 1)
      await f.setNextBlockTimestamp(t0 + CHALLENGE + 20n)
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v3') })
      await f.setNextBlockTimestamp(t0 + CHALLENGE + 30n)
      return c
    },
    act: (f, c) => forceSteps(f, c, st(c, 'v3'), 1),
    expect: {
      check: async (f, c, r) => {
        const t0 = c.t.t0 ?? 0n
        const rec = await recordOf(f, c)
        await expectRecord(f, c, { status: 'disputed', version: 4n, baseVersion: 3n, stateOf: r as State })
        assert.equal(rec.movesUntil, t0 + 2n * CHALLENGE + 20n, 'a forced step does not move movesUntil')
        assert.equal(rec.finalizesAt, t0 + 2n * CHALLENGE + 30n, 'the step leaves the other side a full D')
      },
    },
  },
  {
    given:
      'v1 held since t0, forced v2 at t0 + D - 10, co-signed v3 registered at t0 + D + 20, forced v4 at t0 + D + 30, clock at t0 + 2D + 20',
    call: 'forceProgress on forced v4 (the state held)',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const t0 = c.t.t0 ?? 0n
      await f.setNextBlockTimestamp(t0 + CHALLENGE - 10n)
      await forceSteps(f, c, st(c, 'v1'), 1)
      await f.setNextBlockTimestamp(t0 + CHALLENGE + 20n)
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v3') })
      await f.setNextBlockTimestamp(t0 + CHALLENGE + 30n)
      c.s.forced = await forceSteps(f, c, st(c, 'v3'), 1)
      await f.setNextBlockTimestamp(t0 + 2n * CHALLENGE + 20n)
      return c
    },
    act: (f, c) => forceSteps(f, c, st(c, 'forced'), 1),
    expect: { revert: 'MovesClosed', args: (_f, c) => [c.id, Number((c.t.t0 ?? 0n) + 2n * CHALLENGE + 20n)] },
  },
  {
    given:
      'stale v1 held since t0 (nothing forced), co-signed v2 registered at t0 + D - 1, clock at t0 + D + 10',
    call: 'forceProgress on v2 (the state held)',
    signer: 'alice (mover)',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const t0 = c.t.t0 ?? 0n
      await f.setNextBlockTimestamp(t0 + CHALLENGE - 1n)
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v2') })
      await f.setNextBlockTimestamp(t0 + CHALLENGE + 10n)
      return c
    },
    act: (f, c) => forceSteps(f, c, st(c, 'v2'), 1),
    expect: {
      check: async (f, c, r) => {
        await expectRecord(f, c, { status: 'disputed', version: 3n, baseVersion: 2n, stateOf: r as State })
      },
    },
  },
  {
    given: 'forced v2 on v1, then co-signed v3 registered after movesUntil, then forced v4 on v3',
    call: 'register co-signed v3 again, and co-signed v2',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await held(f, 'v1')
      const t0 = c.t.t0 ?? 0n
      await f.setNextBlockTimestamp(t0 + CHALLENGE - 10n)
      await forceSteps(f, c, st(c, 'v1'), 1)
      await f.setNextBlockTimestamp(t0 + CHALLENGE + 20n)
      await register(f.bob.client, { params: c.params, signed: sg(c, 'v3') })
      c.s.forced = await forceSteps(f, c, st(c, 'v3'), 1)
      return c
    },
    // Reopening needs a co-signed state above the base: the same or an older one cannot extend again.
    act: async (f, c) => {
      const again = await register(f.bob.client, { params: c.params, signed: sg(c, 'v3') }).catch(
        (e: unknown) => e,
      )
      const older = await register(f.bob.client, { params: c.params, signed: sg(c, 'v2') }).catch(
        (e: unknown) => e,
      )
      return [again, older]
    },
    expect: {
      check: async (f, c, r) => {
        for (const e of r as unknown[])
          assert(e instanceof AdjudicatorRevertError && e.errorName === 'StaleVersion', String(e))
        await expectRecord(f, c, {
          status: 'disputed',
          version: 4n,
          baseVersion: 3n,
          stateOf: st(c, 'forced'),
        })
      },
    },
  },
  {
    given: 'v1 held since t0, forced v2 at t0 + D - 10, clock at t0 + 2D - 11',
    call: 'conclude the forced state',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1')
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + CHALLENGE - 10n)
      c.s.forced = await forceSteps(f, c, st(c, 'v1'), 1)
      await f.setNextBlockTimestamp((c.t.t0 ?? 0n) + 2n * CHALLENGE - 11n)
      return c
    },
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'forced') }),
    expect: {
      revert: 'DisputeActive',
      args: (_f, c) => [c.id, Number((c.t.t0 ?? 0n) + 2n * CHALLENGE - 10n)],
    },
  },
  // ------------------------------------------------------------------ conclude
  {
    given: 'v1 held, before the timeout',
    call: 'conclude v1',
    signer: '-',
    pre: (f) => held(f, 'v1'),
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') }),
    expect: { revert: 'DisputeActive' },
  },
  {
    given: 'v1 held, timeout passed',
    call: 'conclude v1',
    signer: '-',
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
    given: 'v2 held, timeout passed',
    call: 'conclude with v1 (not the state held)',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v2')
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') }),
    expect: { revert: 'NotHeldState' },
  },
  {
    given: 'open funded channel (nothing held)',
    call: 'conclude v1',
    signer: '-',
    pre: (f) => channel(f),
    act: (f, c) => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') }),
    expect: { revert: 'NoDispute' },
  },
  {
    given: 'forced v2 (FUND 100) on v1, timeout passed',
    call: 'conclude the forced state',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1')
      c.s.forced = await forcedFund(f, c)
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) =>
      creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'forced') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [600n, 400n]) },
  },
  {
    given: 'v1 held, underfunded (alice deposited 700 of 1000), timeout passed',
    call: 'conclude v1',
    signer: '-',
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
    given: 'v1 held, overfunded (alice deposited 1101 for 1000), timeout passed',
    call: 'conclude v1',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1', { holdings: 1101n })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') })),
    // The excess of 101 goes back to alice, who deposited it; bob gets his balance, not a share.
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [701n, 400n]) },
  },
  // ------------------------------------------------------------------ concludeFinal
  {
    given: 'v1 held, dispute running',
    call: 'concludeFinal co-signed final v3',
    signer: 'alice+bob',
    pre: (f) => held(f, 'v1'),
    act: (f, c) =>
      creditsDuring(f, () => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })),
    expect: {
      check: async (f, c, r) => {
        assert.deepEqual(r, [300n, 700n])
        await expectRecord(f, c, { status: 'concluded', version: 3n })
      },
    },
  },
  {
    given: 'open funded channel',
    call: 'concludeFinal co-signed final v3',
    signer: 'alice+bob',
    pre: (f) => channel(f),
    act: (f, c) =>
      creditsDuring(f, () => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [300n, 700n]) },
  },
  {
    given: 'open funded channel',
    call: 'concludeFinal co-signed non-final v2',
    signer: 'alice+bob',
    pre: (f) => channel(f),
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'v2') }),
    expect: { revert: 'NotFinal' },
  },
  {
    given: 'v3 held',
    call: 'concludeFinal co-signed final v2 (older)',
    signer: 'alice+bob',
    pre: (f) => held(f, 'v3'),
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final2') }),
    expect: { revert: 'StaleVersion', args: () => [2n, 3n] },
  },
  {
    given: 'concluded channel',
    call: 'concludeFinal again',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f, c) => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') }),
    expect: { revert: 'ChannelConcluded' },
  },
  {
    given: 'concluded channel',
    call: 'register co-signed v4',
    signer: 'alice+bob',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f, c) => register(f.alice.client, { params: c.params, signed: sg(c, 'v4') }),
    expect: { revert: 'ChannelConcluded' },
  },
  // ------------------------------------------------------------------ funding (deposits per participant)
  {
    given: 'v0 = [600, 400]; only bob deposited (400); alice registered v0; timeout passed',
    call: 'conclude v0',
    signer: '-',
    pre: async (f) => {
      const c = await channel(f, { deposits: [0n, 400n] })
      await register(f.alice.client, { params: c.params, signed: sg(c, 'v0') })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v0') })),
    // Never fully funded: bob gets his 400 back, alice (who put nothing in) gets nothing.
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [0n, 400n]) },
  },
  {
    given: 'only bob deposited (400)',
    call: 'concludeFinal co-signed final v3 = [300, 700]',
    signer: 'alice+bob',
    pre: (f) => channel(f, { deposits: [0n, 400n] }),
    act: (f, c) =>
      creditsDuring(f, () => concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [0n, 400n]) },
  },
  {
    given: 'alice deposited 600, bob 400 (fully funded); v3 = [500, 500] held; timeout passed',
    call: 'conclude v3',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v3', { deposits: [600n, 400n] })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v3') })),
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [500n, 500n]) },
  },
  {
    given: 'alice deposited 700, bob 400 (1100 for 1000); v1 held; timeout passed',
    call: 'conclude v1',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1', { deposits: [700n, 400n] })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') })),
    // The surplus of 100 is alice's: she deposited it.
    expect: { check: async (_f, _c, r) => assert.deepEqual(r, [700n, 400n]) },
  },
  {
    given: 'bob deposited 400 and carol 101 in her own name (not a participant); v1 held; timeout passed',
    call: 'conclude v1',
    signer: '-',
    pre: async (f) => {
      const c = await held(f, 'v1', { deposits: [0n, 400n] })
      await deposit(f.carol.client, { channelId: c.id, participant: f.carol.address, amount: 101n })
      await f.increaseTime(CHALLENGE)
      return c
    },
    act: (f, c) => creditsDuring(f, () => conclude(f.carol.client, { params: c.params, state: st(c, 'v1') })),
    // Underfunded (400 < 1000; carol's 101 is not the participants'): deposits back; carol's 101
    // stays in the channel for her to reclaim.
    expect: {
      check: async (f, c, r) => {
        assert.deepEqual(r, [0n, 400n])
        assert.equal((await getChannelRecord(f.alice.client, c.id)).holdings, 101n)
      },
    },
  },
  {
    given: 'a channel naming alice twice; alice deposited 300 of 1000',
    call: 'concludeFinal co-signed final [600, 400]',
    signer: 'alice, alice',
    pre: async (f) => {
      const params = { ...f.escrowParams(), participants: [f.alice.address, f.alice.address] }
      const c = await channel(f, { params, holdings: 300n })
      return c
    },
    act: (f, c) =>
      concludeFinal(f.carol.client, {
        params: c.params,
        signed: f.cosign(c.params, f.state(c.params, 5n, BAL, {}, true), [
          f.alice.privateKey,
          f.alice.privateKey,
        ]),
      }),
    // The refund goes to each address once: 300, not 600.
    expect: {
      check: async (_f, _c, r) => assert.deepEqual((r as { payouts: bigint[] }).payouts, [300n, 0n]),
    },
  },
  {
    given: 'alice deposited 600',
    call: 'deposit 100 more for alice, 400 for bob',
    signer: 'alice, bob (senders)',
    pre: (f) => channel(f, { deposits: [600n, 0n] }),
    act: async (f, c) => [
      await deposit(f.alice.client, { channelId: c.id, participant: f.alice.address, amount: 100n }),
      await deposit(f.bob.client, { channelId: c.id, participant: f.bob.address, amount: 400n }),
    ],
    expect: {
      check: async (f, c, r) => {
        const [a, b] = r as Awaited<ReturnType<typeof deposit>>[]
        assert.deepEqual([a?.deposited, a?.holdings, b?.deposited, b?.holdings], [700n, 700n, 400n, 1100n])
        const ev = a?.events[0]
        assert(ev?.eventName === 'Deposited')
        assert.deepEqual(
          [ev.args.participant.toLowerCase(), ev.args.amount, ev.args.deposited, ev.args.holdings],
          [f.alice.address.toLowerCase(), 100n, 700n, 700n],
        )
        assert.deepEqual(
          await getDeposits(f.alice.client, c.id, [f.alice.address, f.bob.address, f.carol.address]),
          [700n, 400n, 0n],
        )
        assert.equal((await recordOf(f, c)).holdings, 1100n)
      },
    },
  },
  {
    given: 'alice deposited 600',
    call: 'deposit 400 for bob expecting 0, and 100 for alice expecting 600',
    signer: 'bob, alice (senders)',
    pre: (f) => channel(f, { deposits: [600n, 0n] }),
    act: async (f, c) => [
      await deposit(f.bob.client, {
        channelId: c.id,
        participant: f.bob.address,
        amount: 400n,
        expectedDeposited: 0n,
      }),
      await deposit(f.alice.client, {
        channelId: c.id,
        participant: f.alice.address,
        amount: 100n,
        expectedDeposited: 600n,
      }),
    ],
    expect: {
      check: async (f, c, r) => {
        const [b, a] = r as Awaited<ReturnType<typeof deposit>>[]
        assert.deepEqual([b?.deposited, a?.deposited, a?.holdings], [400n, 700n, 1100n])
        assert.deepEqual(await getDeposits(f.alice.client, c.id, [f.alice.address, f.bob.address]), [
          700n,
          400n,
        ])
      },
    },
  },
  {
    given: 'bob deposited 400 expecting 0',
    call: 'the same deposit again, expecting 0 (a retried transaction)',
    signer: 'bob (sender)',
    pre: async (f) => {
      const c = await channel(f, { deposits: [0n, 0n] })
      await deposit(f.bob.client, {
        channelId: c.id,
        participant: f.bob.address,
        amount: 400n,
        expectedDeposited: 0n,
      })
      return c
    },
    act: (f, c) =>
      deposit(f.bob.client, {
        channelId: c.id,
        participant: f.bob.address,
        amount: 400n,
        expectedDeposited: 0n,
      }),
    expect: { revert: 'DepositChanged', args: (f, c) => [c.id, f.bob.address, 0n, 400n] },
  },
  // ------------------------------------------------------------------ deposit / withdraw
  {
    given: 'concluded channel',
    call: 'deposit 1 wei',
    signer: 'alice (sender)',
    pre: async (f) => {
      const c = await channel(f)
      await concludeFinal(f.carol.client, { params: c.params, signed: sg(c, 'final3') })
      return c
    },
    act: (f, c) => deposit(f.alice.client, { channelId: c.id, participant: f.alice.address, amount: 1n }),
    expect: { revert: 'ChannelConcluded' },
  },
  {
    given: 'alice was paid and withdrew',
    call: 'withdraw again',
    signer: 'alice (sender)',
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
    given: 'bob was paid',
    call: 'withdraw to a contract that refuses ETH',
    signer: 'bob (sender)',
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
  return forceProgress(f.alice.client, {
    params: c.params,
    from,
    mover: 0n,
    action,
    moverSignature: signMove(c.params, from, 0n, action, f.alice.privateKey),
  })
}

/** Runs a payout and returns what alice's and bob's credits grew by; checks it against the Concluded event. */
async function creditsDuring(f: ChainFixture, pay: () => Promise<{ payouts: bigint[] }>): Promise<bigint[]> {
  const before = [
    await getWithdrawable(f.alice.client, f.alice.address),
    await getWithdrawable(f.alice.client, f.bob.address),
  ]
  const r = await pay()
  const after = [
    await getWithdrawable(f.alice.client, f.alice.address),
    await getWithdrawable(f.alice.client, f.bob.address),
  ]
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
          assert.equal(
            e.channelId === undefined || e.channelId === c.id || row.call.startsWith('withdraw'),
            true,
          )
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
              assert.equal(
                typeof got === 'string' ? got.toLowerCase() : got,
                typeof w === 'string' ? w.toLowerCase() : w,
                `argument ${i} of ${e.errorName}`,
              )
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

  for (const answer of ['register', 'concludeFinal'] as const) {
    it(`attack: an old co-signed v1 and 5 forced moves in ONE transaction reach v6 above the honest v5; the honest v5 (${answer}) replaces the whole chain and pays what it gives, to the wei`, async () => {
      const params = f.escrowParams()
      const id = getChannelId(params)
      await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: 600n })
      await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: 400n })
      // Co-signed history: alice funds 300 and releases it, funds 100 and releases it; bob is owed 800.
      const far = 10n ** 12n
      const h1 = f.state(params, 1n, [600n, 400n])
      const h5 = f.state(params, 5n, [200n, 800n], { escrowId: 2n }, answer === 'concludeFinal')
      const history = [
        h1,
        f.state(params, 2n, [600n, 400n], { funded: true, amount: 300n, deadline: far }),
        f.state(params, 3n, [300n, 700n], { escrowId: 1n }),
        f.state(params, 4n, [300n, 700n], { escrowId: 1n, funded: true, amount: 100n, deadline: far }),
        h5,
      ].map((x) => f.cosign(params, x))
      const latest = history[4]
      assert(latest)

      // Alice registers v1 (with the first forced step) and forces FUND, RELEASE, FUND, RELEASE, FUND: v6.
      const { steps, last } = await plannedSteps(f, params, h1, 5, history[0]?.signatures)
      const attack = await f.forceMany(f.alice.client, params, steps)
      assert.deepEqual(
        attack.events.map((e) => e.eventName),
        ['Registered', 'Progressed', 'Progressed', 'Progressed', 'Progressed', 'Progressed'],
      )
      const chain = await getChannelRecord(f.alice.client, id)
      assert.deepEqual([chain.version, chain.baseVersion, chain.forced], [6n, 1n, true])
      assert.deepEqual(last.balances, [598n, 402n])
      assert.equal(chain.stateHash, `0x${Buffer.from(hashStateStruct(last)).toString('hex')}`)

      const credit = async () => [
        await getWithdrawable(f.alice.client, f.alice.address),
        await getWithdrawable(f.alice.client, f.bob.address),
      ]
      const before = await credit()
      let payouts: bigint[]
      if (answer === 'register') {
        // Bob answers with his latest co-signed state; the whole forced chain is gone.
        await register(f.bob.client, { params, signed: latest })
        const rec = await getChannelRecord(f.alice.client, id)
        assert.deepEqual([rec.version, rec.baseVersion, rec.forced], [5n, 5n, false])
        await f.increaseTime(rec.finalizesAt - (await f.now()))
        payouts = (await conclude(f.carol.client, { params, state: h5 })).payouts
      } else {
        payouts = (await concludeFinal(f.bob.client, { params, signed: latest })).payouts
      }
      assert.deepEqual(payouts, [200n, 800n])
      const after = await credit()
      assert.deepEqual(
        after.map((a, i) => a - (before[i] ?? 0n)),
        [200n, 800n],
        'credited exactly what v5 gives',
      )
      const wallet = f.bob.client.walletClient
      assert(wallet)
      const balanceBefore = await f.bob.client.publicClient.getBalance({ address: f.carol.address })
      await withdraw(f.bob.client, { to: f.carol.address })
      assert.equal(
        (await f.bob.client.publicClient.getBalance({ address: f.carol.address })) - balanceBefore,
        after[1],
      )
    })
  }

  it('attack in several transactions of ONE block: register an old co-signed v1 and force v2..v4 past the honest v3; the honest v3 replaces the chain and pays what it gives', async () => {
    const c = await channel(f, { deposits: [600n, 400n] })
    const wallet = f.alice.client.walletClient
    assert(wallet)
    const { steps, last } = await plannedSteps(f, c.params, st(c, 'v1'), 3)
    const adjudicator = {
      address: f.deployment.adjudicator.address,
      abi: Adjudicator.abi,
      gas: 1_000_000n,
    } as const
    // Sent one after the other (nonces in order), mined together.
    const hashes = await f.inOneBlock(async () => {
      const sent = [
        await wallet.writeContract({
          ...adjudicator,
          functionName: 'register',
          args: [c.params, st(c, 'v1'), [...sg(c, 'v1').signatures]],
        }),
      ]
      for (const s of steps) {
        const args = [c.params, s.from, [], s.mover, s.action, s.moverSignature] as const
        sent.push(await wallet.writeContract({ ...adjudicator, functionName: 'forceProgress', args }))
      }
      return sent
    })
    const pc = f.alice.client.publicClient
    const receipts = await Promise.all(hashes.map((hash) => pc.waitForTransactionReceipt({ hash })))
    assert.equal(new Set(receipts.map((r) => r.blockNumber)).size, 1, 'one block')
    assert(receipts.every((r) => r.status === 'success'))
    await expectRecord(f, c, { status: 'disputed', version: 4n, baseVersion: 1n, stateOf: last })

    await register(f.bob.client, { params: c.params, signed: sg(c, 'v3') })
    await expectRecord(f, c, { status: 'disputed', version: 3n, baseVersion: 3n, stateOf: st(c, 'v3') })
    await f.increaseTime(CHALLENGE)
    const paid = await creditsDuring(f, () =>
      conclude(f.carol.client, { params: c.params, state: st(c, 'v3') }),
    )
    assert.deepEqual(paid, [500n, 500n])
  })

  it('a co-signed state registered after movesUntil does not cost the forcer its evidence: bob forces the arbiter ruling again on top of it and is paid', async () => {
    // Alice pays 300 into escrow for bob (v1). The arbiter rules for bob. Bob signed v2 (the escrow
    // still open) but alice kept her signature of it back, so bob's latest co-signed state is v1.
    const c = await channel(f, { deposits: [600n, 400n] })
    const far = 10n ** 12n
    const open = { funded: true, amount: 300n, deadline: far }
    const v1 = f.state(c.params, 1n, [600n, 400n], open)
    const v2 = f.state(c.params, 2n, [600n, 400n], open)
    const ruling = escrowActions.ruling(true, signRuling(c.params, c.id, 0n, true, f.arbiter.privateKey))
    const force = (from: State) =>
      f.forceAndCheck(f.bob.client, {
        params: c.params,
        from,
        mover: 1n,
        action: ruling,
        moverSignature: signMove(c.params, from, 1n, ruling, f.bob.privateKey),
      })
    const t0 =
      (await register(f.bob.client, { params: c.params, signed: f.cosign(c.params, v1) })).finalizesAt -
      CHALLENGE
    // Bob forces the ruling late in the window for moves: v2 forced pays him the 300.
    await f.setNextBlockTimestamp(t0 + CHALLENGE - 10n)
    const forced = await force(v1)
    assert.deepEqual(forced.state.balances, [300n, 700n])
    // Alice waits until forced steps are closed and registers the co-signed v2: the ruling is gone.
    await f.setNextBlockTimestamp(t0 + CHALLENGE + 20n)
    await register(f.alice.client, { params: c.params, signed: f.cosign(c.params, v2) })
    await expectRecord(f, c, { status: 'disputed', version: 2n, baseVersion: 2n, stateOf: v2 })
    // Bob makes the same move again on v2: the new base leaves a full D for forced steps.
    await f.setNextBlockTimestamp(t0 + CHALLENGE + 30n)
    const again = await force(v2)
    assert.deepEqual(again.state.balances, [300n, 700n])
    const rec = await recordOf(f, c)
    await f.mineAt(rec.finalizesAt)
    const paid = await creditsDuring(f, () =>
      conclude(f.carol.client, { params: c.params, state: again.state }),
    )
    assert.deepEqual(paid, [300n, 700n], 'the arbiter ruled for bob, and bob is paid')
  })

  it('a long alternating forced sequence (alice FUND, bob REFUND, every 7 s) cannot postpone conclude past t0 + 2D', async () => {
    const c = await held(f, 'v1')
    const t0 = c.t.t0 ?? 0n
    let s = st(c, 'v1')
    let steps = 0
    for (let at = t0 + 3n; ; at += 7n) {
      await f.mineAt(at)
      const funded = decodeEscrowData(s.appData).funded
      const [who, mover, action] = funded
        ? [f.bob, 1n, escrowActions.refund()]
        : [f.alice, 0n, escrowActions.fund(1n, at + 4n)]
      const args = {
        params: c.params,
        from: s,
        mover,
        action,
        moverSignature: signMove(c.params, s, mover, action, who.privateKey),
      }
      if (at >= t0 + CHALLENGE) {
        await assert.rejects(
          forceProgress(who.client, args),
          (e: unknown) => e instanceof AdjudicatorRevertError && e.errorName === 'MovesClosed',
        )
        break
      }
      const r = await f.forceAndCheck(who.client, args)
      assert.equal(r.finalizesAt, r.env.timestamp + CHALLENGE, 'each forced step leaves a full D to answer')
      assert(r.finalizesAt <= t0 + 2n * CHALLENGE)
      s = r.state
      steps++
    }
    assert.equal(steps, 14)
    const rec = await recordOf(f, c)
    assert(rec.finalizesAt <= t0 + 2n * CHALLENGE, 'the dispute ends by t0 + 2D')
    await f.mineAt(rec.finalizesAt - 2n)
    await assert.rejects(
      conclude(f.carol.client, { params: c.params, state: s }),
      (e: unknown) => e instanceof AdjudicatorRevertError && e.errorName === 'DisputeActive',
    )
    await f.mineAt(rec.finalizesAt)
    const r = await conclude(f.carol.client, { params: c.params, state: s })
    assert.deepEqual(r.payouts, [600n, 400n])
  })

  it('a signature over one state does not register another (signature and state are bound)', async () => {
    const c = await channel(f)
    const v1 = st(c, 'v1')
    const v2 = st(c, 'v2')
    await assert.rejects(
      register(f.alice.client, {
        params: c.params,
        signed: {
          state: v2,
          signatures: [
            signState(c.params, v1, f.alice.privateKey),
            signState(c.params, v2, f.bob.privateKey),
          ],
        },
      }),
      (e: unknown) =>
        e instanceof AdjudicatorRevertError && e.errorName === 'NotSigner' && e.errorArgs[0] === 0n,
    )
  })
})
