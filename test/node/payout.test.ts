// The payout rule in TypeScript (`payoutOf`) against the Adjudicator: fixed rows without a chain,
// then channels of random shape on anvil (two or three participants, an address named twice,
// deposits for participants and for an outsider, funded or not) concluded with a random final
// state, whose `Concluded` payouts must be exactly what `payoutOf` predicts from the deposits.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Address } from 'viem'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { getChannelId } from '../../engine/channel/index.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { payoutOf } from '../../node/payout.ts'
import { startChainFixture, type ChainFixture, type Party } from '../support/anvilFixture.ts'

const A = '0x00000000000000000000000000000000000000a1' as Address
const B = '0x00000000000000000000000000000000000000b2' as Address
const C = '0x00000000000000000000000000000000000000c3' as Address

describe('payoutOf: the Adjudicator payout rule', function () {
  it('rows: funded, surplus, underfunded refunds, an address named twice, remainders to participant 0', () => {
    const rows: [string, Parameters<typeof payoutOf>[0], bigint[]][] = [
      [
        'funded exactly',
        { participants: [A, B], balances: [600n, 400n], holdings: 1000n, deposits: [600n, 400n] },
        [600n, 400n],
      ],
      [
        'funded by one',
        { participants: [A, B], balances: [600n, 400n], holdings: 1000n, deposits: [1000n, 0n] },
        [600n, 400n],
      ],
      [
        'surplus split, odd wei to 0',
        { participants: [A, B], balances: [600n, 400n], holdings: 1003n, deposits: [1003n, 0n] },
        [602n, 401n],
      ],
      [
        'never funded: refunds',
        { participants: [A, B], balances: [600n, 400n], holdings: 400n, deposits: [0n, 400n] },
        [0n, 400n],
      ],
      [
        'underfunded, outsider deposit split',
        { participants: [A, B], balances: [600n, 400n], holdings: 505n, deposits: [100n, 400n] },
        [103n, 402n],
      ],
      [
        'three, remainder 2 to 0',
        { participants: [A, B, C], balances: [1n, 1n, 1n], holdings: 8n, deposits: [8n, 0n, 0n] },
        [4n, 2n, 2n],
      ],
      [
        'address twice, underfunded: once',
        { participants: [A, A], balances: [500n, 500n], holdings: 300n, deposits: [300n, 300n] },
        [300n, 0n],
      ],
      ['all zero', { participants: [A, B], balances: [0n, 0n], holdings: 0n, deposits: [0n, 0n] }, [0n, 0n]],
    ]
    for (const [name, input, want] of rows) assert.deepEqual(payoutOf(input), want, name)
  })

  it('credits always sum to the holdings (property, without a chain)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 20n }), { minLength: 2, maxLength: 4 }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 20n }), { minLength: 4, maxLength: 4 }),
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        (balances, deps, outsider) => {
          const participants = [A, B, C, A].slice(0, balances.length)
          const deposits = deps.slice(0, balances.length)
          const seen = new Set<string>()
          const distinct = deposits.filter((_, i) => {
            const k = participants[i] ?? ''
            const first = !seen.has(k)
            seen.add(k)
            return first
          })
          const holdings = distinct.reduce((a, b) => a + b, 0n) + outsider
          const paid = payoutOf({ participants, balances, holdings, deposits })
          assert.equal(
            paid.reduce((a, b) => a + b, 0n),
            holdings,
          )
        },
      ),
    )
  })

  it('bad input is a typed error', () => {
    const bad = [
      { participants: [], balances: [], holdings: 0n, deposits: [] },
      { participants: [A, B], balances: [1n], holdings: 1n, deposits: [1n, 0n] },
      { participants: [A, B], balances: [1n, -1n], holdings: 1n, deposits: [1n, 0n] },
      { participants: [A, B], balances: [5n, 5n], holdings: 1n, deposits: [3n, 3n] },
    ]
    for (const input of bad)
      assert.throws(
        () => payoutOf(input),
        (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
      )
  })

  describe('against the contract (property, on anvil)', function () {
    let f: ChainFixture
    before(async () => {
      f = await startChainFixture()
    })
    after(async () => {
      await f?.stop()
    })

    type Shape = {
      who: readonly number[]
      deposits: bigint[]
      outsider: bigint
      balances: bigint[]
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
      }),
    )

    it('concludeFinal credits exactly what payoutOf predicts from the holdings and deposits', async function () {
      this.timeout(600_000)
      let runs = 0
      let funded = 0
      await fc.assert(
        fc.asyncProperty(shape, async (s) => {
          const people: Party[] = [f.alice, f.bob, f.carol]
          const members = s.who.map((i) => people[i] as Party)
          const participants = members.map((p) => p.address)
          const params = f.escrowParams({ participants })
          const id = getChannelId(params)
          // Deposits on behalf of alice, bob and carol (carol is an outsider unless named), and one for the arbiter.
          for (const [i, d] of s.deposits.entries()) {
            const p = people[i] as Party
            if (d > 0n) await deposit(p.client, { channelId: id, participant: p.address, amount: d })
          }
          if (s.outsider > 0n)
            await deposit(f.carol.client, {
              channelId: id,
              participant: f.arbiter.address,
              amount: s.outsider,
            })
          const state = f.state(params, 5n, s.balances, {}, true)
          const signed = f.cosign(
            params,
            state,
            members.map((p) => p.privateKey),
          )
          const rec = await getChannelRecord(f.alice.client, id)
          const deposits = await getDeposits(f.alice.client, id, participants)
          const want = payoutOf({ participants, balances: s.balances, holdings: rec.holdings, deposits })
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
          if (rec.holdings >= s.balances.reduce((a, b) => a + b, 0n)) funded++
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
