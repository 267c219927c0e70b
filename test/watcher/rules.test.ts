// The watcher's rules without a chain: the refutation and adoption rules as tables, the reducer
// over role scripts of logs and records (the forced chain over an old base among them), and the
// reorganisation and block-search helpers.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, keccak256, toHex, type Hex } from 'viem'
import { hashStateStruct } from '../../engine/channel/hashState.ts'
import type { SignedState, State } from '../../engine/channel/types.ts'
import {
  applyChainLog,
  applyChannelRecord,
  createChannelView,
  decideRefutation,
  findBlockAtTime,
  findForkPoint,
  judgeForcedChain,
  reduceChannel,
  type ChainLog,
  type ChannelView,
  type WatcherDecision,
  type WatcherRecord,
} from '../../engine/watcher/index.ts'
import { escrowChannel } from '../support/channel.ts'

const { params, channelId } = escrowChannel({ nonce: 77n })

/** A state of the channel; `tag` tells apart two states of one version. */
function st(version: bigint, tag = 'cosigned'): State {
  return { channelId, version, balances: [600n, 400n], appData: toHex(tag), isFinal: false }
}
/** A stored state with `n` signatures (only their count matters to the rules). */
function signed(state: State, n = 2): SignedState {
  return { state, signatures: Array.from({ length: n }, () => '0x01' as Hex) }
}
const hashOf = (s: State): Hex => bytesToHex(hashStateStruct(s))

let logIndex = 0
function place(block: bigint) {
  return {
    channelId,
    blockNumber: block,
    blockHash: keccak256(toHex(block)),
    logIndex: logIndex++,
    txHash: keccak256(toHex(logIndex)),
  }
}
function registered(state: State, block: bigint, finalizesAt = 1_100n, movesUntil = 1_100n): ChainLog {
  return { type: 'Registered', ...place(block), finalizesAt, movesUntil, state }
}
function progressed(state: State, baseVersion: bigint, block: bigint, finalizesAt = 1_100n): ChainLog {
  return {
    type: 'Progressed',
    ...place(block),
    finalizesAt,
    baseVersion,
    mover: 1n,
    action: toHex(`step ${state.version}`),
    state,
    blockTimestamp: 1_000n + block,
  }
}
/** A disputed view whose record says `version` grew from `baseVersion`. */
function disputed(version: bigint, baseVersion: bigint, finalizesAt = 1_100n): ChannelView {
  return {
    ...createChannelView(params),
    status: 'disputed',
    version,
    baseVersion,
    forced: version > baseVersion,
    finalizesAt,
    movesUntil: finalizesAt,
  }
}
function recordOf(view: ChannelView): WatcherRecord {
  const { status, version, baseVersion, finalizesAt, movesUntil, holdings, stateHash } = view
  return { status, version, baseVersion, finalizesAt, movesUntil, holdings, stateHash }
}
/** Folds facts into a view, collecting every decision. */
function run(
  view: ChannelView,
  facts: Parameters<typeof reduceChannel>[1][],
  latest: SignedState | undefined,
) {
  const decisions: WatcherDecision[] = []
  for (const fact of facts) {
    const r = reduceChannel(view, fact, latest)
    view = r.view
    decisions.push(...r.decisions)
  }
  return { view, decisions }
}

describe('watcher rules (no chain)', () => {
  describe('judgeForcedChain: adopt only a chain that starts at or above the latest co-signed state', () => {
    const rows: {
      name: string
      latest: State | undefined
      base: State
      verdict: ReturnType<typeof judgeForcedChain>
    }[] = [
      { name: 'nothing co-signed yet', latest: undefined, base: st(3n), verdict: 'adopt' },
      { name: 'base above the latest co-signed version', latest: st(2n), base: st(3n), verdict: 'adopt' },
      { name: 'base is the latest co-signed state', latest: st(3n), base: st(3n), verdict: 'adopt' },
      {
        name: 'base of the latest version but another state',
        latest: st(3n),
        base: st(3n, 'other'),
        verdict: 'different-base',
      },
      {
        name: 'base below the latest co-signed version',
        latest: st(4n),
        base: st(3n),
        verdict: 'older-base',
      },
      {
        name: 'base far below (v0) the latest co-signed version',
        latest: st(9n),
        base: st(0n),
        verdict: 'older-base',
      },
    ]
    for (const row of rows) {
      it(`${row.name} -> ${row.verdict}`, () => {
        const chain = { channelId, base: row.base, moves: [] }
        assert.equal(judgeForcedChain(chain, row.latest), row.verdict)
      })
    }
  })

  describe('decideRefutation: refute whenever the latest co-signed version is above the base, while time runs', () => {
    const rows: {
      name: string
      view: ChannelView
      latest: SignedState | undefined
      now: bigint
      expect: 'refute' | 'missed' | undefined
    }[] = [
      {
        name: 'open channel',
        view: createChannelView(params),
        latest: signed(st(2n)),
        now: 0n,
        expect: undefined,
      },
      {
        name: 'concluded channel',
        view: { ...disputed(1n, 1n), status: 'concluded' },
        latest: signed(st(2n)),
        now: 0n,
        expect: undefined,
      },
      {
        name: 'our latest co-signed state is held',
        view: disputed(2n, 2n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: undefined,
      },
      {
        name: 'a newer co-signed state is held',
        view: disputed(3n, 3n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: undefined,
      },
      {
        name: 'an older co-signed state is held',
        view: disputed(1n, 1n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: 'refute',
      },
      {
        name: 'an older co-signed state, period over',
        view: disputed(1n, 1n),
        latest: signed(st(2n)),
        now: 1_100n,
        expect: 'missed',
      },
      {
        name: 'a chain forced past us over an older base',
        view: disputed(5n, 1n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: 'refute',
      },
      {
        name: 'a chain forced to our version over an older base',
        view: disputed(2n, 1n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: 'refute',
      },
      {
        name: 'a chain forced from our latest state',
        view: disputed(5n, 2n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: undefined,
      },
      {
        name: 'a chain forced from a newer co-signed state',
        view: disputed(5n, 3n),
        latest: signed(st(2n)),
        now: 1_000n,
        expect: undefined,
      },
      {
        name: 'latest state signed by one side only',
        view: disputed(1n, 1n),
        latest: signed(st(2n), 1),
        now: 1_000n,
        expect: undefined,
      },
      { name: 'nothing stored', view: disputed(1n, 1n), latest: undefined, now: 1_000n, expect: undefined },
      {
        name: 'a state of another channel',
        view: disputed(1n, 1n),
        latest: signed({ ...st(2n), channelId: keccak256('0x01') }),
        now: 1_000n,
        expect: undefined,
      },
    ]
    for (const row of rows) {
      it(`${row.name} -> ${row.expect ?? 'nothing'}`, () => {
        const d = decideRefutation(row.view, row.latest, row.now)
        assert.equal(d?.type, row.expect)
        if (d?.type === 'refute') {
          assert.equal(d.staleVersion, row.view.version)
          assert.equal(d.signed, row.latest)
        }
      })
    }
  })

  describe('reduceChannel over role scripts', () => {
    it('a forced chain over an old base (v0 -> v3 in one block, we hold v2): reported once, never adopted, refuted with v2', () => {
      const latest = signed(st(2n))
      const chainStates = [st(0n), st(1n, 'cheat'), st(2n, 'cheat'), st(3n, 'cheat')] as const
      const logs = [
        registered(chainStates[0], 10n),
        progressed(chainStates[1], 0n, 10n),
        progressed(chainStates[2], 0n, 10n),
        progressed(chainStates[3], 0n, 10n),
      ]
      const r = run(
        createChannelView(params),
        logs.map((log) => ({ type: 'log' as const, log })),
        latest,
      )
      assert.deepEqual(
        r.decisions.map((d) => d.type),
        ['report-overwrite'],
      )
      const report = r.decisions[0]
      assert(report?.type === 'report-overwrite')
      assert.equal(report.reason, 'older-base')
      assert.equal(report.latestVersion, 2n)
      assert.equal(report.chain.base.version, 0n)
      assert.equal(r.view.version, 3n)
      assert.equal(r.view.baseVersion, 0n)
      assert.equal(r.view.forced, true)
      const rec = reduceChannel(r.view, { type: 'record', record: recordOf(r.view), now: 1_050n }, latest)
      assert.deepEqual(rec.decisions, [{ type: 'refute', channelId, signed: latest, staleVersion: 3n }])
    })

    it('an honest forced chain from our latest co-signed state: handed over whole at every move, with each Env', () => {
      const latest = signed(st(2n))
      const logs = [
        registered(st(2n), 20n),
        progressed(st(3n, 'f'), 2n, 20n),
        progressed(st(4n, 'f'), 2n, 23n),
      ]
      const r = run(
        createChannelView(params),
        logs.map((log) => ({ type: 'log' as const, log })),
        latest,
      )
      const adopted = r.decisions.map((d) => (d.type === 'adopt' ? d.chain : undefined))
      assert.equal(adopted.length, 2)
      assert.deepEqual(
        adopted.map((c) => c?.moves.map((m) => m.state.version)),
        [[3n], [3n, 4n]],
      )
      const last = adopted[1]
      assert(last !== undefined)
      assert.equal(hashOf(last.base), hashOf(st(2n)))
      assert.deepEqual(
        last.moves.map((m) => m.env),
        [
          { blockNumber: 20n, timestamp: 1_020n },
          { blockNumber: 23n, timestamp: 1_023n },
        ],
      )
      assert.deepEqual(
        last.moves.map((m) => m.mover),
        [1n, 1n],
      )
      const rec = reduceChannel(r.view, { type: 'record', record: recordOf(r.view), now: 1_050n }, latest)
      assert.deepEqual(rec.decisions, [], 'an honest chain is not refuted')
    })

    it('a refutation starts a new chain: its moves are adopted, the old chain is gone', () => {
      const latest = signed(st(2n))
      const logs = [
        registered(st(0n), 1n),
        progressed(st(1n, 'cheat'), 0n, 1n),
        registered(st(2n), 2n),
        progressed(st(3n, 'f'), 2n, 3n),
      ]
      const r = run(
        createChannelView(params),
        logs.map((log) => ({ type: 'log' as const, log })),
        latest,
      )
      assert.deepEqual(
        r.decisions.map((d) => d.type),
        ['report-overwrite', 'adopt'],
      )
      const adopt = r.decisions[1]
      assert(adopt?.type === 'adopt')
      assert.equal(adopt.chain.base.version, 2n)
      assert.deepEqual(
        adopt.chain.moves.map((m) => m.state.version),
        [3n],
      )
    })

    it('a chain over another state of our version is reported as different-base and not adopted', () => {
      const latest = signed(st(2n))
      const logs = [registered(st(2n, 'forged'), 1n), progressed(st(3n), 2n, 1n)]
      const r = run(
        createChannelView(params),
        logs.map((log) => ({ type: 'log' as const, log })),
        latest,
      )
      assert.deepEqual(
        r.decisions.map((d) => (d.type === 'report-overwrite' ? d.reason : d.type)),
        ['different-base'],
      )
    })

    it('a move whose base was not read leaves the chain unknown: nothing adopted, a rebuild asked for, the record still refutes', () => {
      const latest = signed(st(2n))
      const r = run(
        createChannelView(params),
        [{ type: 'log', log: progressed(st(2n, 'cheat'), 1n, 5n) }],
        latest,
      )
      assert.equal(r.view.chain, undefined)
      assert.deepEqual(r.decisions, [])
      const rec = reduceChannel(r.view, { type: 'record', record: recordOf(r.view), now: 1_000n }, latest)
      assert.deepEqual(
        rec.decisions.map((d) => d.type),
        ['rebuild', 'refute'],
      )
    })

    it('a record that contradicts the logs asks for a rebuild, drops the chain and still refutes from the record', () => {
      const latest = signed(st(2n))
      const seen = run(createChannelView(params), [{ type: 'log', log: registered(st(2n), 1n) }], latest).view
      const record: WatcherRecord = {
        ...recordOf(seen),
        version: 1n,
        baseVersion: 1n,
        stateHash: hashOf(st(1n)),
      }
      const r = reduceChannel(seen, { type: 'record', record, now: 1_000n }, latest)
      assert.deepEqual(
        r.decisions.map((d) => d.type),
        ['rebuild', 'refute'],
      )
      assert.equal(r.view.chain, undefined)
      assert.equal(r.view.held, undefined)
      assert.equal(r.view.version, 1n)
    })

    it('a consistent record changes nothing and asks for nothing', () => {
      const latest = signed(st(2n))
      const seen = run(createChannelView(params), [{ type: 'log', log: registered(st(2n), 1n) }], latest).view
      const r = applyChannelRecord(seen, recordOf(seen))
      assert.equal(r.consistent, true)
      assert.deepEqual(r.view, seen)
    })

    it('missed is reported once per latest version', () => {
      const latest = signed(st(2n))
      const view = { ...disputed(1n, 1n, 1_100n), chain: { channelId, base: st(1n), moves: [] } }
      const r = run(
        view,
        [1, 2, 3].map(() => ({ type: 'record' as const, record: recordOf(view), now: 2_000n })),
        latest,
      )
      assert.deepEqual(
        r.decisions.map((d) => d.type),
        ['missed'],
      )
    })

    it('deposits and the conclusion are followed', () => {
      let view = createChannelView(params)
      view = applyChainLog(view, {
        type: 'Deposited',
        ...place(1n),
        participant: params.participants[0] as Hex,
        amount: 5n,
        deposited: 5n,
        holdings: 5n,
      })
      view = applyChainLog(view, {
        type: 'Deposited',
        ...place(1n),
        participant: params.participants[1] as Hex,
        amount: 7n,
        deposited: 7n,
        holdings: 12n,
      })
      assert.equal(view.holdings, 12n)
      view = applyChainLog(view, registered(st(1n), 2n))
      const disputed = view
      view = applyChainLog(view, { type: 'Concluded', ...place(3n), version: 1n, payouts: [6n, 6n] })
      assert.equal(view.status, 'concluded')
      assert.equal(view.holdings, 0n)
      // Had 1 of the 12 been deposited for a non-participant, it would stay until reclaimed.
      const partly = applyChainLog(disputed, {
        type: 'Concluded',
        ...place(3n),
        version: 1n,
        payouts: [6n, 5n],
      })
      assert.equal(partly.holdings, 1n)
    })
  })

  describe('findForkPoint', () => {
    const kept = [1n, 2n, 3n].map((n) => ({ number: n, hash: keccak256(toHex(n)) }))
    const lookup =
      (changedFrom: bigint, height = 10n) =>
      async (n: bigint) =>
        n > height ? undefined : n >= changedFrom ? keccak256(toHex(n + 1_000n)) : keccak256(toHex(n))
    const rows: {
      name: string
      changedFrom: bigint
      height?: bigint
      expect: 'unchanged' | bigint | undefined
    }[] = [
      { name: 'nothing changed', changedFrom: 99n, expect: 'unchanged' },
      { name: 'a block beyond the kept ones changed', changedFrom: 4n, expect: 'unchanged' },
      { name: 'the last kept block changed', changedFrom: 3n, expect: 2n },
      { name: 'the two last changed', changedFrom: 2n, expect: 1n },
      { name: 'all kept blocks changed', changedFrom: 0n, expect: undefined },
      { name: 'the chain got shorter', changedFrom: 99n, height: 2n, expect: 2n },
    ]
    for (const row of rows) {
      it(row.name, async () => {
        const r = await findForkPoint(kept, lookup(row.changedFrom, row.height))
        assert.equal(typeof r === 'object' ? r.number : r, row.expect)
      })
    }
    it('no kept blocks: unchanged', async () => {
      assert.equal(await findForkPoint([], async () => undefined), 'unchanged')
    })
  })

  describe('findBlockAtTime', () => {
    it('finds the first block at or after a time (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.nat(5), { minLength: 1, maxLength: 40 }),
          fc.nat(120),
          async (steps, t) => {
            const ts: bigint[] = []
            steps.reduce((acc, s) => (ts.push(BigInt(acc + s)), acc + s), 0)
            const upTo = BigInt(ts.length - 1)
            const got = await findBlockAtTime(async (n) => ts[Number(n)] ?? -1n, BigInt(t), upTo)
            const want = ts.findIndex((x) => x >= BigInt(t))
            assert.equal(got, want === -1 ? upTo + 1n : BigInt(want))
          },
        ),
      )
    })
  })

  it('every dispute event in one block keeps the applied order and continuity of the chain (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 8 }),
        (base, moves, latestV) => {
          const latest = signed(st(BigInt(latestV)))
          const logs: ChainLog[] = [registered(st(BigInt(base)), 1n)]
          for (let i = 1; i <= moves; i++) logs.push(progressed(st(BigInt(base + i), 'f'), BigInt(base), 1n))
          const r = run(
            createChannelView(params),
            logs.map((log) => ({ type: 'log' as const, log })),
            latest,
          )
          const adopts = r.decisions.filter((d) => d.type === 'adopt')
          const reports = r.decisions.filter((d) => d.type === 'report-overwrite')
          if (base >= latestV) {
            assert.equal(adopts.length, moves)
            assert.equal(reports.length, 0)
          } else {
            assert.equal(adopts.length, 0)
            assert.equal(reports.length, 1)
          }
          assert.equal(r.view.chain?.moves.length, moves)
          const refute = decideRefutation(r.view, latest, 1_000n)
          assert.equal(refute?.type, latestV > base ? 'refute' : undefined)
        },
      ),
    )
  })
})
