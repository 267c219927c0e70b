// The dispute planner on a real anvil: a table of situations (nothing on chain, an older state held,
// a forced chain from an older base, ours held with and without a move of ours, timeout passed,
// concluded with a credit, a final state co-signed) → the planned step; each plan is then carried
// out to the end and the payouts checked to the wei after withdraw. A step that wins 1 wei is
// refused with NOT_WORTH_IT (nothing sent) and sent with force.
import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import { escrowActions, escrowApp, signRuling } from '../../apps/escrow/escrowClient.ts'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import {
  getChannelId,
  hashState,
  type ChannelParams,
  type SignedState,
  type State,
} from '../../engine/channel/index.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import {
  planDispute,
  takeDisputeStep,
  waitOutChallenge,
  type DisputeDeps,
  type DisputeProgress,
} from '../../node/dispute.ts'
import type { DisputePlan } from '../../node/types.ts'
import { CHALLENGE, startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'

const ETH = 10n ** 18n
const FAR = 10n ** 12n

/** A channel between alice (payer, 0) and bob (payee, 1; this node), funded 6 and 4 ETH. */
type World = {
  params: ChannelParams
  id: Hex
  store: ChannelStore
  signed: Record<string, SignedState>
  deps: DisputeDeps
}

async function world(
  f: ChainFixture,
  opts: { escrowAmount?: bigint; ours?: string; fund?: readonly [bigint, bigint] } = {},
): Promise<World> {
  const { escrowAmount = ETH, ours = 'v2', fund = [6n * ETH, 4n * ETH] } = opts
  const params = f.escrowParams()
  const id = getChannelId(params)
  if (fund[0] > 0n)
    await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: fund[0] })
  if (fund[1] > 0n)
    await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: fund[1] })
  const s: Record<string, State> = {
    v1: f.state(params, 1n, [6n * ETH, 4n * ETH]),
    v2: f.state(params, 2n, [55n * (ETH / 10n), 45n * (ETH / 10n)], { escrowId: 1n }),
    // An escrow of `escrowAmount` funded by alice, which the arbiter may rule to bob.
    v3: f.state(params, 3n, [5n * ETH, 5n * ETH], {
      escrowId: 2n,
      funded: true,
      amount: escrowAmount,
      deadline: FAR,
    }),
    final3: f.state(params, 3n, [3n * ETH, 7n * ETH], { escrowId: 2n }, true),
  }
  const signed = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, f.cosign(params, v)]))
  const store = createMemoryStore()
  await store.putChannel({ channelId: id, params, myIndex: 1 })
  // Bob's store: every co-signed state up to `ours`.
  for (const k of ['v1', 'v2', 'v3', 'final3']) {
    const st = signed[k]
    assert(st)
    if (k === 'final3' && ours !== 'final3') continue
    if (k === 'v3' && ours !== 'v3') continue
    await store.putSignedState(id, st)
  }
  const deps: DisputeDeps = {
    client: f.bob.client,
    store,
    params,
    me: 1,
    signer: createKeySigner(f.bob.privateKey),
    sandbox: f.sandbox,
    appAbi: escrowApp.abi,
  }
  return { params, id, store, signed, deps }
}

function sig(w: World, k: string): SignedState {
  const s = w.signed[k]
  assert(s, k)
  return s
}

/**
 * Takes the plan's steps until nothing is left, moving the chain's clock over every wait; returns
 * what bob withdrew and the steps taken.
 */
async function runToEnd(
  f: ChainFixture,
  w: World,
  first: { pendingAction?: Hex; force?: boolean } = {},
): Promise<{ withdrawn: bigint; steps: string[] }> {
  let withdrawn = 0n
  const steps: string[] = []
  const onProgress = (p: DisputeProgress): void => {
    if (p.type !== 'mined') return
    for (const e of p.result.events) if (e.eventName === 'Withdrawn') withdrawn += e.args.amount
  }
  let opts: { pendingAction?: Hex; force?: boolean } = first
  for (let i = 0; i < 8; i++) {
    const plan = await planDispute(w.deps, w.id, opts)
    if (plan.next.step === 'none') return { withdrawn, steps }
    if (plan.next.step === 'wait') {
      steps.push('wait')
      await f.increaseTime(plan.next.until - (plan.now ?? 0n))
      continue
    }
    steps.push(plan.next.step)
    await takeDisputeStep(w.deps, w.id, { ...opts, onProgress })
    opts = {}
  }
  assert.fail(`no end after 8 steps: ${steps.join(', ')}`)
}

const ruling = (f: ChainFixture, w: World, escrowId: bigint): Hex =>
  escrowActions.ruling(true, signRuling(w.params, w.id, escrowId, true, f.arbiter.privateKey))

type Row = {
  given: string
  /** Sets the chain up; returns the pending action to plan with, if any. */
  pre: (f: ChainFixture, w: World) => Promise<Hex | undefined>
  ours?: string
  /** What alice and bob deposit (default 6 and 4 ETH). */
  fund?: readonly [bigint, bigint]
  expect: {
    step: DisputePlan['next']['step']
    /** The plan's payouts (the state held after the step), then what is withdrawn at the end. */
    payouts: bigint[]
    gain?: bigint
    held?: { version: bigint; baseVersion: bigint; balances?: bigint[] }
    steps: string[]
  }
}

const E = (x: number): bigint => (BigInt(Math.round(x * 10)) * ETH) / 10n

const rows: Row[] = [
  {
    given: 'nothing on chain',
    pre: async () => undefined,
    expect: {
      step: 'register',
      payouts: [E(5.5), E(4.5)],
      gain: E(4.5),
      steps: ['register', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'an older co-signed state held (alice registered v1)',
    pre: async (f, w) => {
      await register(f.alice.client, { params: w.params, signed: sig(w, 'v1') })
      return undefined
    },
    expect: {
      step: 'register',
      payouts: [E(5.5), E(4.5)],
      gain: E(0.5),
      held: { version: 1n, baseVersion: 1n, balances: [E(6), E(4)] },
      steps: ['register', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'a forced chain from an older base (alice registered v1 and forced FUND)',
    pre: async (f, w) => {
      const v1 = sig(w, 'v1')
      await register(f.alice.client, { params: w.params, signed: v1 })
      const action = escrowActions.fund(E(6), FAR)
      await f.forceAndCheck(f.alice.client, {
        params: w.params,
        from: v1.state,
        mover: 0n,
        action,
        moverSignature: signMove(w.params, v1.state, 0n, action, f.alice.privateKey),
      })
      return undefined
    },
    expect: {
      step: 'register',
      payouts: [E(5.5), E(4.5)],
      gain: E(0.5),
      // Not in bob's store: read back from the Progressed log.
      held: { version: 2n, baseVersion: 1n, balances: [E(6), E(4)] },
      steps: ['register', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'ours held and the arbiter ruled for bob (a move of ours)',
    ours: 'v3',
    pre: async (f, w) => {
      await register(f.bob.client, { params: w.params, signed: sig(w, 'v3') })
      return ruling(f, w, 2n)
    },
    expect: {
      step: 'force',
      payouts: [E(4), E(6)],
      gain: E(1),
      held: { version: 3n, baseVersion: 3n, balances: [E(5), E(5)] },
      steps: ['force', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'nothing on chain and a move of ours (forceProgress registers our state in the same call)',
    ours: 'v3',
    pre: async (f, w) => ruling(f, w, 2n),
    expect: {
      step: 'force',
      payouts: [E(4), E(6)],
      gain: E(6),
      steps: ['force', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'ours held and our move kept in the store as a proposal at the next version',
    ours: 'v3',
    pre: async (f, w) => {
      await register(f.bob.client, { params: w.params, signed: sig(w, 'v3') })
      const from = sig(w, 'v3').state
      const action = ruling(f, w, 2n)
      const next = { ...from, version: 4n, balances: [E(4), E(6)] }
      await w.store.recordSignature({
        channelId: w.id,
        version: 4n,
        digest: hashState(w.params.chainId, w.params.adjudicator, next),
        state: next,
        proposal: { mover: 1, action, env: { blockNumber: 1n, timestamp: 1n }, sig: '0x' },
      })
      return undefined
    },
    expect: {
      step: 'force',
      payouts: [E(4), E(6)],
      gain: E(1),
      steps: ['force', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'nothing on chain, the channel never funded by alice (refunds)',
    fund: [0n, E(4)],
    pre: async () => undefined,
    expect: {
      step: 'register',
      payouts: [0n, E(4)],
      gain: E(4),
      steps: ['register', 'wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'ours held, no move of ours',
    pre: async (f, w) => {
      await register(f.bob.client, { params: w.params, signed: sig(w, 'v2') })
      return undefined
    },
    expect: {
      step: 'wait',
      payouts: [E(5.5), E(4.5)],
      held: { version: 2n, baseVersion: 2n, balances: [E(5.5), E(4.5)] },
      steps: ['wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'another state of our version held (alice registered a v2 bob never signed)',
    pre: async (f, w) => {
      const other = f.state(w.params, 2n, [E(7), E(3)], { escrowId: 9n })
      await register(f.alice.client, { params: w.params, signed: f.cosign(w.params, other) })
      return undefined
    },
    expect: {
      step: 'wait',
      payouts: [E(7), E(3)],
      // Not in bob's store: read back from the Registered log.
      held: { version: 2n, baseVersion: 2n, balances: [E(7), E(3)] },
      steps: ['wait', 'conclude', 'withdraw'],
    },
  },
  {
    given: 'the timeout passed',
    pre: async (f, w) => {
      await register(f.alice.client, { params: w.params, signed: sig(w, 'v2') })
      await f.increaseTime(CHALLENGE + 1n)
      return undefined
    },
    expect: {
      step: 'conclude',
      payouts: [E(5.5), E(4.5)],
      gain: E(4.5),
      steps: ['conclude', 'withdraw'],
    },
  },
  {
    given: 'concluded with a credit',
    pre: async (f, w) => {
      await register(f.alice.client, { params: w.params, signed: sig(w, 'v2') })
      await f.increaseTime(CHALLENGE + 1n)
      await conclude(f.alice.client, { params: w.params, state: sig(w, 'v2').state })
      return undefined
    },
    expect: { step: 'withdraw', payouts: [E(5.5), E(4.5)], gain: E(4.5), steps: ['withdraw'] },
  },
  {
    given: 'a final state co-signed, nothing on chain',
    ours: 'final3',
    pre: async () => undefined,
    expect: {
      step: 'conclude-final',
      payouts: [E(3), E(7)],
      gain: E(7),
      steps: ['conclude-final', 'withdraw'],
    },
  },
  {
    given: 'a final state co-signed while alice holds v1',
    ours: 'final3',
    pre: async (f, w) => {
      await register(f.alice.client, { params: w.params, signed: sig(w, 'v1') })
      return undefined
    },
    expect: {
      step: 'conclude-final',
      payouts: [E(3), E(7)],
      gain: E(3),
      steps: ['conclude-final', 'withdraw'],
    },
  },
]

describe('node dispute: planDispute / takeDisputeStep on anvil', function () {
  let f: ChainFixture
  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    await f?.stop()
  })

  for (const row of rows) {
    it(`${row.given} → ${row.expect.step}; carried out, the payouts to the wei`, async function () {
      const w = await world(f, {
        ours: row.ours ?? 'v2',
        ...(row.fund === undefined ? {} : { fund: row.fund }),
      })
      const aliceBefore = await getWithdrawable(f.alice.client, f.alice.address)
      const pendingAction = await row.pre(f, w)
      const opts = pendingAction === undefined ? {} : { pendingAction }
      const plan = await planDispute(w.deps, w.id, opts)
      assert.equal(plan.next.step, row.expect.step, JSON.stringify(plan.next, big))
      assert.deepEqual(plan.payouts, row.expect.payouts, 'payouts of the state held after the step')
      if (plan.next.step !== 'wait' && plan.next.step !== 'none') {
        assert.equal(plan.next.gainWei, row.expect.gain, 'gain')
        assert(plan.next.gas > 20_000n && plan.next.gas < 200_000n, `gas ${plan.next.gas}`)
        assert.equal(plan.next.feeWei, plan.next.gas * (await f.bob.client.publicClient.getGasPrice()))
        assert.equal(plan.worthIt, true)
      } else {
        assert.equal(plan.worthIt, false)
      }
      if (row.expect.held !== undefined) {
        assert(plan.held)
        assert.equal(plan.held.version, row.expect.held.version)
        assert.equal(plan.held.baseVersion, row.expect.held.baseVersion)
        assert.deepEqual(plan.held.balances, row.expect.held.balances)
      }
      const { withdrawn, steps } = await runToEnd(f, w, opts)
      assert.deepEqual(steps, row.expect.steps)
      assert.equal(withdrawn, row.expect.payouts[1], 'bob withdrew his payout')
      const aliceAfter = await getWithdrawable(f.alice.client, f.alice.address)
      assert.equal(aliceAfter - aliceBefore, row.expect.payouts[0], "alice's credit")
      assert.equal(await getWithdrawable(f.bob.client, f.bob.address), 0n)
      const last = await planDispute(w.deps, w.id)
      assert.equal(last.next.step, 'none')
      assert.equal((await getChannelRecord(f.bob.client, w.id)).status, 'concluded')
    })
  }

  it('a forced move that wins 1 wei is refused with NOT_WORTH_IT, nothing sent; with force it is sent', async function () {
    const w = await world(f, { escrowAmount: 1n, ours: 'v3' })
    await register(f.bob.client, { params: w.params, signed: sig(w, 'v3') })
    const pendingAction = ruling(f, w, 2n)
    const plan = await planDispute(w.deps, w.id, { pendingAction })
    assert.equal(plan.next.step, 'force')
    assert.equal(plan.next.gainWei, 1n)
    assert(plan.next.feeWei > 1n)
    assert.equal(plan.worthIt, false)
    const nonce = () =>
      f.bob.client.publicClient.getTransactionCount({ address: f.bob.address, blockTag: 'pending' })
    const before = await nonce()
    const rec = await getChannelRecord(f.bob.client, w.id)
    await assert.rejects(
      takeDisputeStep(w.deps, w.id, { pendingAction }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'NOT_WORTH_IT' && e.channelId === w.id,
    )
    assert.equal(await nonce(), before, 'nothing was sent')
    assert.deepEqual(await getChannelRecord(f.bob.client, w.id), rec, 'the record did not change')
    const sent: string[] = []
    const after = await takeDisputeStep(w.deps, w.id, {
      pendingAction,
      force: true,
      onProgress: (p) => sent.push(p.type),
    })
    assert.deepEqual(sent, ['sending', 'mined'])
    assert.equal(await nonce(), before + 1)
    const held = await getChannelRecord(f.bob.client, w.id)
    assert.deepEqual([held.version, held.baseVersion, held.forced], [4n, 3n, true])
    assert.equal(after.next.step, 'wait')
    assert.deepEqual(
      after.held?.balances,
      [5n * ETH - 1n, 5n * ETH + 1n],
      'the forced state, read from the log',
    )
    const aliceBefore = await getWithdrawable(f.alice.client, f.alice.address)
    const { withdrawn } = await runToEnd(f, w)
    assert.equal(withdrawn, 5n * ETH + 1n)
    assert.equal((await getWithdrawable(f.alice.client, f.alice.address)) - aliceBefore, 5n * ETH - 1n)
  })

  it('a step that lowers our payout is not worth it (bob refuting with a state that pays him less)', async function () {
    const w = await world(f)
    // Bob holds v1 (alice 6 ETH); alice's latest v2 pays her 5.5: refuting would cost her 0.5 ETH.
    await register(f.bob.client, { params: w.params, signed: sig(w, 'v1') })
    const plan = await planDispute(
      { ...w.deps, client: f.alice.client, me: 0, signer: createKeySigner(f.alice.privateKey) },
      w.id,
    )
    assert.equal(plan.next.step, 'register')
    assert.equal(plan.next.gainWei, -E(0.5))
    assert.equal(plan.worthIt, false)
  })

  it('a move the app refuses, or one after movesUntil, is not forced: wait, with the reason', async function () {
    const w = await world(f, { ours: 'v3' })
    await register(f.bob.client, { params: w.params, signed: sig(w, 'v3') })
    // A ruling signed by bob instead of the arbiter.
    const forged = escrowActions.ruling(true, signRuling(w.params, w.id, 2n, true, f.bob.privateKey))
    const refused = await planDispute(w.deps, w.id, { pendingAction: forged })
    assert.equal(refused.next.step, 'wait')
    assert.match(
      refused.next.step === 'wait' ? refused.next.reason : '',
      /refuses our pending action: NotArbiter/,
    )
    // Without a signer nothing can be forced either.
    const { signer: _unused, ...unsigned } = w.deps
    const noSigner = await planDispute(unsigned, w.id, { pendingAction: ruling(f, w, 2n) })
    assert.match(noSigner.next.step === 'wait' ? noSigner.next.reason : '', /no signer/)
    // Bob's ruling just before movesUntil pushes finalizesAt past it; after movesUntil no move is forced.
    const rec0 = await getChannelRecord(f.bob.client, w.id)
    await f.increaseTime(rec0.movesUntil - (await f.now()) - 5n)
    await takeDisputeStep(w.deps, w.id, { pendingAction: ruling(f, w, 2n) })
    const rec1 = await getChannelRecord(f.bob.client, w.id)
    assert(rec1.finalizesAt > rec1.movesUntil, 'the late step moved finalizesAt past movesUntil')
    await f.increaseTime(rec1.movesUntil - (await f.now()) + 1n)
    const late = await planDispute(w.deps, w.id, { pendingAction: escrowActions.fund(1n, FAR) })
    assert.equal(late.next.step, 'wait')
    assert.match(late.next.step === 'wait' ? late.next.reason : '', /forced moves are closed/)
    assert.equal(late.next.step === 'wait' ? late.next.until : 0n, rec1.finalizesAt)
    const { withdrawn } = await runToEnd(f, w)
    assert.equal(withdrawn, E(6))
  })

  it('bad input is a typed error and sends nothing', async function () {
    const w = await world(f)
    const other = getChannelId(f.escrowParams())
    const cases: [string, Promise<unknown>][] = [
      ['INVALID_ARGUMENT', planDispute(w.deps, other)],
      ['INVALID_ARGUMENT', planDispute({ ...w.deps, me: 2 }, w.id)],
      ['CONFIG', planDispute({ ...w.deps, client: f.alice.client }, w.id)],
      ['CHANNEL_NOT_FOUND', planDispute({ ...w.deps, store: createMemoryStore() }, w.id)],
    ]
    for (const [code, p] of cases)
      await assert.rejects(p, (e: unknown) => e instanceof ChanvmError && e.code === code, code)
    assert.equal((await getChannelRecord(f.bob.client, w.id)).status, 'open')
  })

  it('waitOutChallenge reports the time left until finalizesAt, then returns', async function () {
    const w = await world(f)
    const r = await register(f.bob.client, { params: w.params, signed: sig(w, 'v2') })
    // Taking a `wait` step sends nothing.
    const count = () =>
      f.bob.client.publicClient.getTransactionCount({ address: f.bob.address, blockTag: 'pending' })
    const n0 = await count()
    const waited = await takeDisputeStep(w.deps, w.id, { force: true })
    assert.equal(waited.next.step, 'wait')
    assert.equal(await count(), n0)
    const seen: DisputeProgress[] = []
    const waiting = waitOutChallenge(w.deps, w.id, (p) => seen.push(p), { pollMs: 30 })
    // Each third of the challenge passes only after the waiter reported once more (it polls the
    // chain, which takes a few RPCs on a loaded machine): so it reports a shrinking time left.
    let returned = false
    const end = () => (returned = true)
    void waiting.then(end, end) // a failure is thrown below, where the waiter is awaited
    for (let i = 0; i < 4 && !returned; i++) {
      const n = seen.length
      const deadline = Date.now() + 30_000
      while (seen.length === n && !returned && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 10))
      assert.ok(seen.length > n || returned, `a report before the increase ${i + 1}`)
      await f.increaseTime(CHALLENGE / 3n)
    }
    const rec = await waiting
    assert.equal(rec.finalizesAt, r.finalizesAt)
    assert((await f.now()) >= rec.finalizesAt)
    const left = seen.flatMap((p) => (p.type === 'waiting' ? [p.remainingSeconds] : []))
    assert(left.length >= 2, `reports: ${left.length}`)
    assert(
      left.every((x, i) => i === 0 || x <= (left[i - 1] ?? 0n)),
      'the time left only shrinks',
    )
    assert(left[0] !== undefined && left[0] <= CHALLENGE && (left.at(-1) ?? CHALLENGE) < CHALLENGE)
    const last = seen.at(-1)
    assert(last?.type === 'waiting' && last.remainingBlocks >= 1n)
    assert.equal((await planDispute(w.deps, w.id)).next.step, 'conclude')
  })
})

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v
}
