import assert from 'node:assert/strict'
import { runTvDeliveryDemo, TV_DEMO } from '../../apps/tvDelivery/runTvDeliveryDemo.ts'
import type { DemoSummary } from '../../cli/demo/types.ts'

const paid = (s: DemoSummary) => s.payouts.map((p) => [p.role, p.withdrawn])

describe('e2e: tv-delivery on anvil and the embedded broker, oracles over MQTT', function () {
  this.timeout(240_000) // a bound for a hang, not a speed check (processes on a shared machine)

  it('happy path: 2 of 3 oracles answer, the seller claims, the buyer co-signs', async () => {
    const s = await runTvDeliveryDemo()
    assert.equal(s.ok, true)
    assert.equal(s.path, 'cooperative')
    assert.equal(s.outcome, 'seller-paid')
    assert.deepEqual(paid(s), [
      ['buyer', 500_000_000_000_000_000n],
      ['seller', 500_000_000_000_000_000n],
    ])
    assert.equal(s.steps.filter((e) => e.kind === 'answer-received').length, 2)
  })

  it('--refuse: the buyer will not sign the claim, the seller forces it with the oracle answers', async () => {
    const s = await runTvDeliveryDemo({ refuse: true })
    assert.equal(s.ok, true)
    assert.equal(s.path, 'forced')
    assert.deepEqual(paid(s), [
      ['buyer', TV_DEMO.deposit - TV_DEMO.price],
      ['seller', TV_DEMO.price],
    ])
    assert.deepEqual(
      s.gas.transactions.map((t) => t.action),
      ['deposit', 'forceProgress', 'conclude', 'withdraw', 'withdraw'],
    )
    assert.ok(s.steps.some((e) => e.kind === 'refused' && e.actor === 'buyer'))
  })

  it('1 of the 2 required oracles answers: no payout to the seller, the buyer is refunded after the deadline block', async () => {
    const s = await runTvDeliveryDemo({ answers: 1 })
    assert.equal(s.ok, true)
    assert.equal(s.outcome, 'buyer-refunded')
    assert.deepEqual(paid(s), [
      ['buyer', 1_000_000_000_000_000_000n],
      ['seller', 0n],
    ])
    assert.ok(s.steps.some((e) => e.kind === 'no-quorum'))
    assert.ok(s.steps.some((e) => e.kind === 'blocks'))
    assert.ok(!s.gas.transactions.some((t) => t.by === 'seller'))
  })

  it('1 of 2 answers and the seller refuses the refund: the buyer forces it on chain', async () => {
    const s = await runTvDeliveryDemo({ answers: 1, refuse: true })
    assert.equal(s.ok, true)
    assert.equal(s.path, 'forced')
    assert.deepEqual(paid(s), [
      ['buyer', TV_DEMO.deposit],
      ['seller', 0n],
    ])
  })
})
