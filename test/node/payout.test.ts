// The payout rule in TypeScript (`payoutOf`) against the Adjudicator: a table of deposit patterns
// (held to the rule without a chain and to the contract on anvil), the properties that make it a
// payment rule (nobody is paid from another's deposit beyond what the state assigns; a surplus goes
// back to whoever deposited it), the retried deposit as a dispute on anvil, deposits for
// non-participants, and channels of random shape concluded on anvil, whose `Concluded` payouts
// must be exactly what `payoutOf` predicts from the deposits.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Address, Hex } from 'viem'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getDeposit } from '../../engine/adjudicator/getDeposit.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { reclaimDeposit } from '../../engine/adjudicator/reclaimDeposit.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { AdjudicatorRevertError } from '../../engine/adjudicator/toAdjudicatorError.ts'
import { getChannelId } from '../../engine/channel/index.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { payoutOf } from '../../node/payout.ts'
import { CHALLENGE, startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'

const A = '0x00000000000000000000000000000000000000a1' as Address
const B = '0x00000000000000000000000000000000000000b2' as Address
const C = '0x00000000000000000000000000000000000000c3' as Address
const D = '0x00000000000000000000000000000000000000d4' as Address

type Row = {
  name: string
  participants: Address[]
  balances: bigint[]
  /** Per participant, in order; an address named twice repeats its one deposit. */
  deposits: bigint[]
  /** The concluding state's version (3 when not given): the opening state, 0, pays deposits back. */
  version?: bigint
  want: bigint[]
}

const inputOf = (r: Row) => ({ ...r, version: r.version ?? 3n })

/** Deposit patterns and what each participant must be credited. */
const rows: Row[] = [
  {
    name: 'funded exactly',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [600n, 400n],
    want: [600n, 400n],
  },
  {
    name: 'funded by one (the other won or was paid its balance)',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [0n, 1000n],
    want: [600n, 400n],
  },
  {
    name: "bob's 400 sent three times, alice deposited nothing: the excess 200 is bob's",
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [0n, 1200n],
    want: [600n, 600n],
  },
  {
    name: 'both over-deposit: each gets its own excess',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [700n, 500n],
    want: [700n, 500n],
  },
  {
    name: 'one over-deposits, the other exactly',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [600n, 1200n],
    want: [600n, 1200n],
  },
  {
    name: 'a transfer in the channel and an over-deposit: the winner gets its balance, no part of the excess',
    participants: [A, B],
    balances: [900n, 100n],
    deposits: [500n, 700n],
    want: [900n, 300n],
  },
  {
    name: 'never funded: refunds, the state does not matter',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [0n, 400n],
    want: [0n, 400n],
  },
  {
    name: 'never funded although one over-deposited: refunds',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [0n, 999n],
    want: [0n, 999n],
  },
  {
    name: 'three: the excess in proportion (200 : 100), the rounding wei to the first',
    participants: [A, B, C],
    balances: [100n, 100n, 100n],
    deposits: [300n, 200n, 0n],
    want: [234n, 166n, 100n],
  },
  {
    name: 'four: rounding never pays anyone beyond its own excess (excess 1 : 100 : 100, rest 200)',
    participants: [A, B, C, D],
    balances: [10n, 10n, 10n, 11n],
    deposits: [11n, 110n, 110n, 10n],
    want: [11n, 110n, 109n, 11n],
  },
  {
    name: 'an address named twice, funded: its excess at its first index',
    participants: [A, A],
    balances: [500n, 500n],
    deposits: [1300n, 1300n],
    want: [800n, 500n],
  },
  {
    name: 'an address named twice, underfunded: refunded once',
    participants: [A, A],
    balances: [500n, 500n],
    deposits: [300n, 300n],
    want: [300n, 0n],
  },
  {
    name: 'an address around another: its balances summed before its excess',
    participants: [A, B, A],
    balances: [100n, 500n, 100n],
    deposits: [400n, 500n, 400n],
    want: [300n, 500n, 100n],
  },
  { name: 'all zero', participants: [A, B], balances: [0n, 0n], deposits: [0n, 0n], want: [0n, 0n] },
  {
    name: "the opening state, bob's 400 sent three times, alice deposited nothing: every deposit back",
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [0n, 1200n],
    version: 0n,
    want: [0n, 1200n],
  },
  {
    name: 'the opening state, funded and over-deposited: every deposit back',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [700n, 400n],
    version: 0n,
    want: [700n, 400n],
  },
  {
    name: 'the opening state, one funded by the other: every deposit back',
    participants: [A, B],
    balances: [600n, 400n],
    deposits: [0n, 1000n],
    version: 0n,
    want: [0n, 1000n],
  },
]

/** Per distinct address: the sum of its balances, its deposit (at its first index) and its credit. */
function perAddress(
  participants: readonly Address[],
  balances: readonly bigint[],
  deposits: readonly bigint[],
  paid: readonly bigint[],
): { balance: bigint; deposit: bigint; paid: bigint }[] {
  const out = new Map<string, { balance: bigint; deposit: bigint; paid: bigint }>()
  for (const [i, p] of participants.entries()) {
    const seen = out.get(p)
    const e = seen ?? { balance: 0n, deposit: deposits[i] ?? 0n, paid: 0n }
    e.balance += balances[i] ?? 0n
    e.paid += paid[i] ?? 0n
    out.set(p, e)
  }
  return [...out.values()]
}

describe('payoutOf: the Adjudicator payout rule', function () {
  it('the table of deposit patterns', () => {
    for (const r of rows) assert.deepEqual(payoutOf(inputOf(r)), r.want, r.name)
  })

  it('nobody is paid from another deposit beyond the state; a surplus goes back to its depositor (property)', () => {
    const amount = fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: 0n, max: 2000n }),
      fc.bigInt({ min: 0n, max: 10n ** 24n }),
    )
    fc.assert(
      fc.property(
        fc.constantFrom([A, B], [A, B, C], [A, A], [B, A, B], [A, B, C, D]),
        fc.array(amount, { minLength: 4, maxLength: 4 }),
        fc.array(amount, { minLength: 4, maxLength: 4 }),
        fc.constantFrom(0n, 1n, 7n),
        (participants, bals, deps, version) => {
          const balances = bals.slice(0, participants.length)
          // One deposit per address, repeated at every index that names it.
          const depositOf = new Map<string, bigint>()
          const deposits = participants.map((p, i) => {
            const d = depositOf.get(p) ?? deps[i] ?? 0n
            depositOf.set(p, d)
            return d
          })
          const paid = payoutOf({ participants, balances, deposits, version })
          const pool = [...depositOf.values()].reduce((a, b) => a + b, 0n)
          const need = balances.reduce((a, b) => a + b, 0n)
          assert.equal(
            paid.reduce((a, b) => a + b, 0n),
            pool,
            'the credits are the pool, to the wei',
          )
          const each = perAddress(participants, balances, deposits, paid)
          for (const e of each) {
            // What an address gets beyond its own deposit is at most what the state gives it beyond it.
            const gain = e.paid - e.deposit
            const assigned = e.balance > e.deposit ? e.balance - e.deposit : 0n
            assert(gain <= assigned, `paid ${e.paid} from deposit ${e.deposit} and balance ${e.balance}`)
            if (version === 0n) assert.equal(e.paid, e.deposit, 'the opening state pays deposits back')
            else if (need <= pool) assert(e.paid >= e.balance, 'a funded channel pays every balance')
            else assert.equal(e.paid, e.deposit, 'an underfunded channel refunds')
          }
          if (version !== 0n && need <= pool)
            for (const [i, b] of balances.entries()) assert((paid[i] ?? 0n) >= b)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('bad input is a typed error', () => {
    const bad = [
      { participants: [], balances: [], deposits: [], version: 1n },
      { participants: [A, B], balances: [1n], deposits: [1n, 0n], version: 1n },
      { participants: [A, B], balances: [1n, -1n], deposits: [1n, 0n], version: 1n },
      { participants: [A, B], balances: [1n, 1n], deposits: [1n, -1n], version: 1n },
    ]
    for (const input of bad)
      assert.throws(
        () => payoutOf(input),
        (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
      )
  })

  describe('against the contract (on anvil)', function () {
    let f: ChainFixture
    before(async () => {
      f = await startChainFixture()
    })
    after(async () => {
      await f?.stop()
    })

    /** The anvil account that stands for a letter of the table. */
    const account = (a: Address): { address: Address; privateKey: Hex } => {
      const m = { [A]: f.alice, [B]: f.bob, [C]: f.carol, [D]: f.arbiter }[a]
      assert(m)
      return m
    }

    it('the retried deposit: alice never deposits, bob sends his 400 three times; v0 concluded pays [0, 1200]', async function () {
      this.timeout(60_000)
      const params = f.escrowParams()
      const id = getChannelId(params)
      for (let i = 0; i < 3; i++)
        await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: 400n })
      const v0 = f.state(params, 0n, [600n, 400n])
      await register(f.alice.client, { params, signed: f.cosign(params, v0) })
      await f.increaseTime(CHALLENGE)
      const before = await Promise.all([f.alice, f.bob].map((p) => getWithdrawable(p.client, p.address)))
      const r = await conclude(f.alice.client, { params, state: v0 })
      assert.deepEqual(r.payouts, [0n, 1200n], 'the opening state moves no value: every deposit back')
      const after = await Promise.all([f.alice, f.bob].map((p) => getWithdrawable(p.client, p.address)))
      assert.equal((after[0] ?? 0n) - (before[0] ?? 0n), 0n)
      assert.equal((after[1] ?? 0n) - (before[1] ?? 0n), 1200n)
      assert.equal((await getChannelRecord(f.alice.client, id)).holdings, 0n)
    })

    it('no step is forced on an opening its participants did not fund (OpeningNotFunded), one is once they did', async function () {
      this.timeout(60_000)
      const params = f.escrowParams()
      const id = getChannelId(params)
      // Bob deposits 1,200 (his 400 three times), alice nothing: the pool covers [600, 400].
      for (let i = 0; i < 3; i++)
        await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: 400n })
      const v0 = f.cosign(params, f.state(params, 0n, [600n, 400n]))
      const action = escrowActions.fund(100n, 10n ** 12n)
      const force = () =>
        forceProgress(f.alice.client, {
          params,
          from: v0.state,
          fromSignatures: v0.signatures,
          mover: 0n,
          action,
          moverSignature: signMove(params, v0.state, 0n, action, f.alice.privateKey),
        })
      const refused = await force().catch((e: unknown) => e)
      assert(
        refused instanceof AdjudicatorRevertError && refused.errorName === 'OpeningNotFunded',
        String(refused),
      )
      assert.equal((await getChannelRecord(f.alice.client, id)).version, 0n, 'nothing registered')
      await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: 600n })
      const r = await force()
      assert.equal(r.state.version, 1n)
    })

    it('the table of deposit patterns, each a channel concluded with concludeFinal', async function () {
      this.timeout(120_000)
      for (const r of rows) {
        const members = r.participants.map(account)
        const participants = members.map((m) => m.address)
        const params = f.escrowParams({ participants })
        const id = getChannelId(params)
        const done = new Set<string>()
        for (const [i, m] of members.entries()) {
          const d = r.deposits[i] ?? 0n
          if (done.has(m.address) || d === 0n) continue
          done.add(m.address)
          await deposit(f.carol.client, { channelId: id, participant: m.address, amount: d })
        }
        const state = f.state(params, r.version ?? 3n, r.balances, {}, true)
        const signed = f.cosign(
          params,
          state,
          members.map((m) => m.privateKey),
        )
        const c = await concludeFinal(f.alice.client, { params, signed })
        assert.deepEqual(c.payouts, r.want, r.name)
      }
    })

    it('a deposit for a non-participant is not paid to the participants; it is reclaimed by its address', async function () {
      this.timeout(60_000)
      const params = f.escrowParams()
      const id = getChannelId(params)
      await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: 100n })
      await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: 400n })
      // 600 deposited for carol, who is not a participant: it must not fund alice's 600.
      await deposit(f.carol.client, { channelId: id, participant: f.carol.address, amount: 600n })
      const tooEarly = await reclaimDeposit(f.carol.client, { params, account: f.carol.address }).catch(
        (e: unknown) => e,
      )
      assert(
        tooEarly instanceof AdjudicatorRevertError && tooEarly.errorName === 'NotConcluded',
        String(tooEarly),
      )
      const final = f.state(params, 4n, [600n, 400n], {}, true)
      const c = await concludeFinal(f.bob.client, { params, signed: f.cosign(params, final) })
      assert.deepEqual(c.payouts, [100n, 400n], 'never funded by its participants: each its own deposit')
      assert.equal((await getChannelRecord(f.alice.client, id)).holdings, 600n, "carol's deposit stays")
      const participant = await reclaimDeposit(f.carol.client, { params, account: f.bob.address }).catch(
        (e: unknown) => e,
      )
      assert(participant instanceof AdjudicatorRevertError && participant.errorName === 'IsParticipant')
      const before = await getWithdrawable(f.carol.client, f.carol.address)
      // Anyone may send it; the credit is carol's.
      const r = await reclaimDeposit(f.alice.client, { params, account: f.carol.address })
      assert.equal(r.amount, 600n)
      assert.equal((await getWithdrawable(f.carol.client, f.carol.address)) - before, 600n)
      assert.equal((await getChannelRecord(f.alice.client, id)).holdings, 0n)
      assert.equal(await getDeposit(f.alice.client, id, f.carol.address), 0n)
      const twice = await reclaimDeposit(f.carol.client, { params, account: f.carol.address }).catch(
        (e: unknown) => e,
      )
      assert(twice instanceof AdjudicatorRevertError && twice.errorName === 'NothingToReclaim')
    })

    type Shape = {
      who: readonly number[]
      deposits: bigint[]
      outsider: bigint
      balances: bigint[]
      version: bigint
    }
    const amount = fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 1000n }))
    const shape: fc.Arbitrary<Shape> = fc.constantFrom([0, 1], [0, 1, 2], [0, 0], [1, 0, 1]).chain((who) =>
      fc.record({
        who: fc.constant(who),
        deposits: fc.array(amount, { minLength: 3, maxLength: 3 }),
        outsider: amount,
        balances: fc.array(fc.bigInt({ min: 0n, max: 800n }), {
          minLength: who.length,
          maxLength: who.length,
        }),
        version: fc.constantFrom(0n, 5n),
      }),
    )

    it('concludeFinal credits exactly what payoutOf predicts from the deposits (property)', async function () {
      this.timeout(600_000)
      let runs = 0
      let funded = 0
      await fc.assert(
        fc.asyncProperty(shape, async (s) => {
          const people = [f.alice, f.bob, f.carol]
          const members = s.who.map((i) => people[i] ?? f.alice)
          const participants = members.map((p) => p.address)
          const params = f.escrowParams({ participants })
          const id = getChannelId(params)
          // Deposits on behalf of alice, bob and carol (carol is an outsider unless named), and one for the arbiter.
          for (const [i, d] of s.deposits.entries()) {
            const p = people[i] ?? f.alice
            if (d > 0n) await deposit(p.client, { channelId: id, participant: p.address, amount: d })
          }
          if (s.outsider > 0n)
            await deposit(f.carol.client, {
              channelId: id,
              participant: f.arbiter.address,
              amount: s.outsider,
            })
          const state = f.state(params, s.version, s.balances, {}, true)
          const signed = f.cosign(
            params,
            state,
            members.map((p) => p.privateKey),
          )
          const rec = await getChannelRecord(f.alice.client, id)
          const deposits = await getDeposits(f.alice.client, id, participants)
          const want = payoutOf({ participants, balances: s.balances, deposits, version: s.version })
          const before = await Promise.all(people.map((p) => getWithdrawable(p.client, p.address)))
          const r = await concludeFinal(f.alice.client, { params, signed })
          assert.deepEqual(r.payouts, want, 'the Concluded payouts')
          const after = await Promise.all(people.map((p) => getWithdrawable(p.client, p.address)))
          // Credits per address: an address named twice gets both indices' payouts.
          for (const [i, p] of people.entries()) {
            const credited = members.reduce(
              (acc, m, j) => (m.address === p.address ? acc + (want[j] ?? 0n) : acc),
              0n,
            )
            assert.equal((after[i] ?? 0n) - (before[i] ?? 0n), credited, `credit of ${p.address}`)
          }
          // What stays is exactly what was deposited for non-participants.
          const paidOut = want.reduce((a, b) => a + b, 0n)
          assert.equal((await getChannelRecord(f.alice.client, id)).holdings, rec.holdings - paidOut)
          const outsiders = people.filter((p) => !participants.includes(p.address))
          const outside = (
            await getDeposits(
              f.alice.client,
              id,
              outsiders.map((p) => p.address),
            )
          ).reduce((a, b) => a + b, s.outsider)
          assert.equal(rec.holdings - paidOut, outside)
          const pool = deposits.filter((_, i) => participants.indexOf(participants[i] ?? A) === i)
          if (pool.reduce((a, b) => a + b, 0n) >= s.balances.reduce((a, b) => a + b, 0n)) funded++
          runs++
        }),
        { numRuns: 40 },
      )
      assert.equal(runs, 40)
      assert(
        funded > 0 && funded < runs,
        `both funded and underfunded channels ran (${funded} of ${runs} funded)`,
      )
    })
  })
})
