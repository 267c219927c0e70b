import assert from 'node:assert/strict'
import { COLD_CHAIN_DEMO, runColdChainDemo } from '../../apps/coldChain/runColdChainDemo.ts'

describe('e2e: cold-chain on anvil and the embedded broker, thermometer over MQTT', function () {
  this.timeout(240_000) // a bound for a hang, not a speed check (processes on a shared machine)

  it('happy path: the excursion is reported and the insurer co-signs the payout', async () => {
    const s = await runColdChainDemo()
    assert.equal(s.ok, true)
    assert.equal(s.path, 'cooperative')
    assert.equal(s.outcome, 'owner-insured')
    assert.deepEqual(
      s.payouts.map((p) => [p.role, p.withdrawn]),
      [
        ['owner', 1_030_000_000_000_000_000n],
        ['insurer', 20_000_000_000_000_000n],
      ],
    )
  })

  it('--refuse: readings from the device simulator over MQTT show an excursion, the insurer refuses, the owner gets the insured sum on chain', async () => {
    const s = await runColdChainDemo({ refuse: true })
    assert.equal(s.ok, true)
    assert.equal(s.path, 'forced')
    assert.equal(s.forcedSteps, 1)
    // The readings were published by the simulator and verified by the owner's node from the broker.
    const published = s.steps.filter((e) => e.kind === 'reading-published')
    const received = s.steps.filter((e) => e.kind === 'reading-received')
    assert.equal(received.length, published.length)
    assert.ok(received.filter((e) => e.data?.['outOfRange'] === true).length >= COLD_CHAIN_DEMO.runLength)
    assert.ok(s.steps.some((e) => e.kind === 'refused' && e.actor === 'insurer'))
    assert.deepEqual(
      s.gas.transactions.map((t) => t.action),
      ['deposit', 'deposit', 'forceProgress', 'conclude', 'withdraw', 'withdraw'],
    )
    const premiums = COLD_CHAIN_DEMO.premium * BigInt(COLD_CHAIN_DEMO.premiumsPaid)
    assert.deepEqual(
      s.payouts.map((p) => [p.role, p.withdrawn]),
      [
        ['owner', COLD_CHAIN_DEMO.ownerDeposit - premiums + COLD_CHAIN_DEMO.insuredSum],
        ['insurer', COLD_CHAIN_DEMO.insurerDeposit + premiums - COLD_CHAIN_DEMO.insuredSum],
      ],
    )
  })
})
