import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import type { ForcedChain, ForcedMove, SignedState, State } from '../../engine/channel/types.ts'
import type { Answer, Ask, Handled, Handler, Step } from '../../engine/protocol/effects.ts'
import { createChannelMachine, machinePhase, type ChannelMachine } from '../../engine/protocol/machine.ts'
import { commitOf } from '../../engine/protocol/messageChecks.ts'
import { onDisputed } from '../../engine/protocol/onDisputed.ts'
import { onForcedChain } from '../../engine/protocol/onForcedChain.ts'
import { onFunding } from '../../engine/protocol/onFunding.ts'
import { onNewChannel } from '../../engine/protocol/onNewChannel.ts'
import { onResync } from '../../engine/protocol/onResync.ts'
import type { SignatureRecord } from '../../engine/store/types.ts'
import type { StepResult } from '../../engine/sandbox/runTransition.ts'
import { escrowChannel, fixedEnv, testAddresses } from '../support/channel.ts'

// The local actions' handlers as pure functions: machine + input + facts in, next machine +
// effects out. No store, no sandbox, no signer: every fact a handler asks for is given by the
// table, and a fact the table does not give fails the test.

const { params, channelId, initial } = escrowChannel({ nonce: 91n })
const sigs = ['0x01', '0x02'] as Hex[]
const at = (version: bigint, over: Partial<State> = {}): SignedState => ({
  state: { ...initial, version, ...over },
  signatures: sigs,
})

/** A machine in `phase`: nothing co-signed (opening), version 0 unfunded (funding), version 3 funded (open). */
function machine(phase: 'opening' | 'funding' | 'open'): ChannelMachine {
  const ch = createChannelMachine({
    id: channelId,
    params,
    myIndex: 0,
    app: escrowApp,
    funded: phase === 'open',
  })
  if (phase === 'funding') ch.latest = at(0n)
  if (phase === 'open') ch.latest = at(3n, { balances: [900n, 100n] })
  assert.equal(machinePhase(ch), phase)
  return ch
}

type Asked = { [K in Ask['kind']]?: (a: Extract<Ask, { kind: K }>) => Answer[K] }

/**
 * Asks a handler until it decides, answering each fact by `answers` (by the kind of question);
 * returns the decision and the questions asked, and checks the input machine is left as it was.
 */
function decide<I, F extends object>(h: Handler<I, F>, m: ChannelMachine, input: I, answers: Asked = {}) {
  const before = structuredClone(m)
  const facts = {} as F
  const asked: Ask[] = []
  for (let i = 0; i < 50; i++) {
    const r: Handled<F> = h(m, input, facts)
    if (!('need' in r)) {
      assert.deepEqual(m, before, 'the handler left its input machine as it was')
      return { step: r as Step, asked }
    }
    const { key, ask } = r.need
    asked.push(ask)
    const answer = answers[ask.kind] as ((a: Ask) => unknown) | undefined
    assert.ok(answer !== undefined, `the table gives the fact ${key} (${ask.kind})`)
    ;(facts as Record<string, unknown>)[key] = answer(ask)
  }
  throw new Error('the handler keeps asking')
}

const kinds = (s: Step) => s.effects.map((e) => e.kind)
const resolved = (s: Step) => s.effects.flatMap((e) => (e.kind === 'resolve' ? [e.value] : []))
/** A decision that changes nothing: the same machine, no write, no event, only the caller's answer. */
const changesNothing = (s: Step, m: ChannelMachine) => {
  assert.equal(s.machine, m)
  assert.deepEqual(kinds(s), ['resolve'])
}

describe('local handlers as pure functions: the deposits seen on chain (onFunding)', () => {
  const full = initial.balances
  const table: {
    phase: 'opening' | 'funding' | 'open'
    deposited: readonly bigint[]
    stored?: SignedState | null
    expect: 'funded' | 'underfunded' | RegExp
  }[] = [
    { phase: 'funding', deposited: full, expect: 'funded' },
    { phase: 'funding', deposited: [full[0]! - 1n, 0n], expect: 'underfunded' },
    { phase: 'funding', deposited: [full[0]!], expect: /one deposit per participant/ },
    { phase: 'open', deposited: full, stored: at(0n), expect: 'funded' },
    { phase: 'open', deposited: [0n, 0n], stored: at(0n), expect: 'underfunded' },
    { phase: 'opening', deposited: full, stored: null, expect: /not open yet/ },
  ]
  for (const row of table) {
    it(`${row.phase}, deposits ${row.deposited.join('/')}: ${String(row.expect)}`, () => {
      const m = machine(row.phase)
      const answers: Asked = {
        coSignedAt: (a) => {
          assert.equal(a.version, 0n)
          assert.ok(row.stored !== undefined, 'the machine holds version 0: the store is not asked')
          return row.stored
        },
      }
      const input = { id: 'f1', deposited: row.deposited }
      if (row.expect instanceof RegExp) {
        assert.throws(() => decide(onFunding, m, input, answers), row.expect)
        return
      }
      const { step, asked } = decide(onFunding, m, input, answers)
      assert.equal(asked.length, row.stored === undefined ? 0 : 1)
      if (row.expect === 'underfunded') {
        changesNothing(step, m)
        const [v] = resolved(step)
        assert.deepEqual(v, {
          funding: {
            ok: false,
            reason: 'underfunded',
            missing: [0],
            message: 'participants 0 have not deposited their initial balance',
          },
        })
        return
      }
      assert.equal(step.machine.funded, true)
      assert.deepEqual({ ...step.machine, funded: m.funded }, m, 'only funded changes')
      assert.deepEqual(step.effects, [
        { kind: 'save', fact: { funding: row.deposited } },
        { kind: 'emit', event: { type: 'funded', channelId, deposited: row.deposited } },
        { kind: 'resolve', id: 'f1', value: { funding: { ok: true } } },
      ])
      if (row.phase === 'funding') assert.equal(machinePhase(step.machine), 'open')
    })
  }
})

describe('local handlers as pure functions: a chain forced on chain (onForcedChain)', () => {
  /** A chain of `n` moves from `base`: each move's state is the next version with 10 more paid out. */
  const chainFrom = (base: State, n: number, over: (m: ForcedMove, i: number) => ForcedMove = (m) => m) => {
    const moves: ForcedMove[] = []
    let from = base
    for (let i = 0; i < n; i++) {
      const state = {
        ...from,
        version: from.version + 1n,
        balances: [from.balances[0]! - 10n, from.balances[1]! + 10n],
      }
      const m = over({ mover: 0n, action: `0x0${i}` as Hex, env: fixedEnv, state }, i)
      moves.push(m)
      from = m.state
    }
    return { channelId, base, moves } satisfies ForcedChain
  }
  /** The sandbox as the table has it: each move re-runs to its own state, but for `differ` (another state) and `fail` (a revert). */
  const sandbox =
    (chain: ForcedChain, o: { differ?: number; fail?: number } = {}) =>
    (a: Extract<Ask, { kind: 'rerunMoves' }>): StepResult[] => {
      assert.equal(a.base, chain.base, "the moves run from the chain's base")
      assert.equal(a.moves, chain.moves, 'every move of the chain, in order')
      return chain.moves.map((move, i): StepResult => {
        if (i === o.fail) return { ok: false, reason: 'revert', message: 'Overspend(1, 0)', gasUsed: 1n }
        const state = i === o.differ ? { ...move.state, isFinal: true } : move.state
        return { ok: true, state, gasUsed: 1n }
      })
    }
  const adopted = (s: Step) => resolved(s).map((v) => ('adoption' in v ? v.adoption : v))

  it('open, a chain of three moves from the latest: every move re-run (one fact), then recorded and taken as the base', () => {
    const m = machine('open')
    const chain = chainFrom(m.latest!.state, 3)
    const { step, asked } = decide(onForcedChain, m, { id: 'a1', chain }, { rerunMoves: sandbox(chain) })
    assert.deepEqual(
      asked.map((a) => a.kind),
      ['rerunMoves'],
    )
    const tip = chain.moves[2]!.state
    assert.deepEqual(step.machine, { ...m, forced: tip })
    assert.equal(machinePhase(step.machine), 'open')
    assert.deepEqual(step.effects, [
      { kind: 'save', fact: { forced: tip } },
      { kind: 'emit', event: { type: 'adopted', channelId, state: tip } },
      { kind: 'resolve', id: 'a1', value: { adoption: { ok: true, state: tip } } },
    ])
    // The same chain again: already the base; nothing re-run, nothing written.
    const again = decide(onForcedChain, step.machine, { id: 'a2', chain })
    changesNothing(again.step, step.machine)
    assert.deepEqual(adopted(again.step), [{ ok: true, state: tip }])
  })

  const refusals: {
    name: string
    phase: 'funding' | 'open'
    chain: (latest: State) => ForcedChain
    rerun?: { differ?: number; fail?: number }
    reason: string
    reruns: number
  }[] = [
    {
      name: 'a move that re-runs to another state',
      phase: 'open',
      chain: (l) => chainFrom(l, 3),
      rerun: { differ: 1 },
      reason: 'mismatch',
      reruns: 1,
    },
    {
      name: 'a move that reverts in the sandbox',
      phase: 'funding',
      chain: (l) => chainFrom(l, 2),
      rerun: { fail: 0 },
      reason: 'mismatch',
      reruns: 1,
    },
    {
      name: 'a base below the latest co-signed version',
      phase: 'open',
      chain: () => chainFrom({ ...initial, version: 2n }, 3),
      reason: 'older-base',
      reruns: 0,
    },
    {
      name: 'another state at the latest co-signed version',
      phase: 'open',
      chain: (l) => chainFrom({ ...l, isFinal: true }, 1),
      reason: 'different-base',
      reruns: 0,
    },
    {
      name: 'a gap between versions',
      phase: 'open',
      chain: (l) =>
        chainFrom(l, 2, (mv, i) => (i === 1 ? { ...mv, state: { ...mv.state, version: 9n } } : mv)),
      reason: 'broken-chain',
      reruns: 0,
    },
    {
      name: 'a mover who is not a participant',
      phase: 'open',
      chain: (l) => chainFrom(l, 2, (mv, i) => (i === 1 ? { ...mv, mover: 2n } : mv)),
      reason: 'broken-chain',
      reruns: 0,
    },
    {
      name: 'a chain that ends at the latest co-signed version',
      phase: 'open',
      chain: (l) => chainFrom({ ...l, version: 3n }, 0),
      reason: 'stale',
      reruns: 0,
    },
  ]
  for (const row of refusals) {
    it(`${row.phase}, ${row.name}: refused (${row.reason}); the machine and the store stay as they were`, () => {
      const m = machine(row.phase)
      const chain = row.chain(m.latest!.state)
      const { step, asked } = decide(
        onForcedChain,
        m,
        { id: 'r', chain },
        { rerunMoves: sandbox(chain, row.rerun) },
      )
      assert.equal(asked.length, row.reruns)
      changesNothing(step, m)
      const [r] = adopted(step)
      assert.equal(r && 'ok' in r && !r.ok ? r.reason : r, row.reason)
    })
  }

  it('a chain ending below the forced state adopted before is stale; no write', () => {
    const m = machine('open')
    const long = chainFrom(m.latest!.state, 3)
    const first = decide(onForcedChain, m, { id: 'x', chain: long }, { rerunMoves: sandbox(long) }).step
      .machine
    const short = chainFrom(m.latest!.state, 2)
    const { step } = decide(onForcedChain, first, { id: 'y', chain: short }, { rerunMoves: sandbox(short) })
    changesNothing(step, first)
    const [r] = adopted(step)
    assert.equal(r && 'ok' in r && !r.ok ? r.reason : r, 'stale')
  })
})

describe('local handlers as pure functions: a dispute registered on chain (onDisputed)', () => {
  const proposing = (): ChannelMachine => {
    const m = machine('open')
    const state = { ...m.latest!.state, version: 4n }
    m.pending = { id: 'u7', state, digest: '0x44', accepts: new Map(), gasUsed: 1n }
    assert.equal(machinePhase(m), 'proposing')
    return m
  }
  const table: { phase: string; m: () => ChannelMachine; first: boolean; expect: string[] }[] = [
    { phase: 'funding', m: () => machine('funding'), first: true, expect: ['save', 'emit'] },
    { phase: 'open', m: () => machine('open'), first: true, expect: ['save', 'emit'] },
    { phase: 'proposing', m: proposing, first: true, expect: ['save', 'resolve', 'emit'] },
    {
      phase: 'disputed (marked again)',
      m: () => ({ ...machine('open'), disputed: true }),
      first: false,
      expect: ['save'],
    },
  ]
  for (const row of table) {
    it(`${row.phase}${row.first ? '' : ', not the first mark'}: ${row.expect.join(', ')}; then disputed`, () => {
      const m = row.m()
      const { step, asked } = decide(onDisputed, m, { first: row.first })
      assert.equal(asked.length, 0, 'asks for nothing')
      assert.deepEqual(step.machine, { ...m, disputed: true }, 'only the mark changes')
      assert.equal(machinePhase(step.machine), 'disputed')
      assert.deepEqual(kinds(step), row.expect)
      assert.deepEqual(
        step.effects[0],
        { kind: 'save', fact: { disputed: true } },
        'recorded before all else',
      )
      if (m.pending !== undefined)
        assert.deepEqual(resolved(step), [{ verdict: 'disputed' }], 'the update in flight: no last signature')
      if (row.first)
        assert.deepEqual(step.effects.at(-1), { kind: 'emit', event: { type: 'disputed', channelId } })
    })
  }
})

describe('local handlers as pure functions: a channel opened for the first time (onNewChannel)', () => {
  const table: {
    requireFunding: boolean
    stored?: readonly bigint[] | null
    funded: boolean
    asks: number
  }[] = [
    { requireFunding: true, stored: null, funded: false, asks: 1 },
    { requireFunding: true, stored: initial.balances, funded: true, asks: 1 },
    { requireFunding: false, funded: true, asks: 0 },
  ]
  for (const row of table) {
    it(`requireFunding ${row.requireFunding}, deposits ${row.stored === undefined ? 'not read' : row.stored === null ? 'none' : 'recorded'}: ${row.funded ? 'funded' : 'funding'}; the record is written first`, () => {
      const m = createChannelMachine({ id: channelId, params, myIndex: 1, app: escrowApp, funded: false })
      const { step, asked } = decide(
        onNewChannel,
        m,
        { requireFunding: row.requireFunding },
        {
          funding: () => {
            assert.ok(row.stored !== undefined, 'funding is not read when it is not required')
            return row.stored
          },
        },
      )
      assert.equal(asked.length, row.asks)
      assert.deepEqual(step.machine, { ...m, funded: row.funded })
      assert.equal(machinePhase(step.machine), 'opening')
      assert.deepEqual(step.effects, [{ kind: 'save', fact: { channel: { channelId, params, myIndex: 1 } } }])
    })
  }
})

describe('local handlers as pure functions: a channel loaded at start-up (onResync)', () => {
  /** This party's record of a signature at `version`, without the co-signed state. */
  const record = (version: bigint): SignatureRecord => ({
    channelId,
    version,
    digest: `0x${'ab'.repeat(32)}`,
    state: { ...initial, version },
  })
  /** The same channel with a third participant: the commit goes to each other one. */
  const threeParty = (): ChannelMachine => {
    const p3 = { ...params, participants: [...params.participants, testAddresses[2]!] }
    const ch = createChannelMachine({ id: channelId, params: p3, myIndex: 1, app: escrowApp, funded: true })
    ch.latest = {
      state: { ...initial, version: 5n, balances: [1n, 2n, 3n] },
      signatures: ['0x01', '0x02', '0x03'],
    }
    return ch
  }
  const disputed = (): ChannelMachine => ({ ...machine('open'), disputed: true })
  const table: {
    name: string
    m: () => ChannelMachine
    /** The version asked for (latest + 1) and whether a signature is held there. */
    next: bigint
    held: boolean
    /** Who gets the latest co-signed state again. */
    commitTo: number[]
    /** The sync request: none, showing the record, or showing nothing (in dispute). */
    ask: 'none' | 'show' | 'bare'
  }[] = [
    {
      name: 'opening, nothing signed',
      m: () => machine('opening'),
      next: 0n,
      held: false,
      commitTo: [],
      ask: 'none',
    },
    {
      name: 'opening, the initial state signed',
      m: () => machine('opening'),
      next: 0n,
      held: true,
      commitTo: [],
      ask: 'show',
    },
    {
      name: 'funding, nothing above',
      m: () => machine('funding'),
      next: 1n,
      held: false,
      commitTo: [1],
      ask: 'none',
    },
    {
      name: 'open, nothing above',
      m: () => machine('open'),
      next: 4n,
      held: false,
      commitTo: [1],
      ask: 'none',
    },
    {
      name: 'open, a signature held at latest + 1',
      m: () => machine('open'),
      next: 4n,
      held: true,
      commitTo: [1],
      ask: 'show',
    },
    {
      name: 'three participants, a signature held',
      m: threeParty,
      next: 6n,
      held: true,
      commitTo: [0, 2],
      ask: 'show',
    },
    { name: 'disputed, nothing above', m: disputed, next: 4n, held: false, commitTo: [1], ask: 'none' },
    {
      name: 'disputed, a signature held at latest + 1',
      m: disputed,
      next: 4n,
      held: true,
      commitTo: [1],
      ask: 'bare',
    },
  ]
  for (const row of table) {
    it(`${row.name}: commit to ${row.commitTo.length}, sync ${row.ask}; nothing written`, () => {
      const m = row.m()
      const held = row.held ? record(row.next) : null
      const { step, asked } = decide(
        onResync,
        m,
        {},
        {
          signedAt: (a) => {
            assert.equal(a.version, row.next, 'its record at latest + 1')
            return held
          },
        },
      )
      assert.deepEqual(asked, [{ kind: 'signedAt', version: row.next }])
      assert.equal(step.machine, m, 'the machine stays as it was')
      const self = m.params.participants[m.myIndex]!
      const commit = m.latest === undefined ? undefined : commitOf(m, self, m.latest)
      const expected = [
        ...row.commitTo.map((i) => ({ kind: 'send', to: m.params.participants[i], message: commit })),
        ...(row.ask === 'none'
          ? []
          : [
              row.ask === 'show'
                ? { kind: 'askSync', version: row.next, show: held }
                : { kind: 'askSync', version: row.next },
              { kind: 'schedule', timer: 'sync', version: row.next },
            ]),
      ]
      assert.deepEqual(step.effects, expected)
      // A commit carries the latest co-signed state, every signature on it, and comes from this party.
      for (const e of step.effects)
        if (e.kind === 'send') {
          assert.equal(e.message.type, 'commit')
          assert.equal(e.message.from, self)
          assert.notEqual(e.to, self, 'not to itself')
          assert.equal(e.message.type === 'commit' && e.message.version, m.latest!.state.version.toString())
        }
      // In dispute: the co-signed state still goes out (docs/protocol.md, "A channel in dispute":
      // every participant signed it), no signature of this party above it does.
      if (m.disputed) assert.ok(step.effects.every((e) => e.kind !== 'askSync' || e.show === undefined))
    })
  }
})
