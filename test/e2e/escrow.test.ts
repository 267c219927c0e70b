import assert from 'node:assert/strict'
import { parseEther } from 'viem'
import { runEscrowDemo } from '../../apps/escrow/runEscrowDemo.ts'

describe('e2e: escrow on anvil and the embedded broker', function () {
  this.timeout(240_000) // a bound for a hang, not a speed check (processes on a shared machine)

  it('happy path: the payer releases, a co-signed final state concludes at once (both nodes in this process)', async () => {
    const s = await runEscrowDemo({ partyProcesses: false })
    assert.equal(s.ok, true)
    assert.equal(s.path, 'cooperative')
    assert.equal(s.outcome, 'payee-paid')
    assert.deepEqual(
      s.payouts.map((p) => [p.role, p.withdrawn]),
      [
        ['payer', parseEther('0.6')],
        ['payee', parseEther('0.4')],
      ],
    )
    assert.deepEqual(
      s.gas.transactions.map((t) => t.action),
      ['deposit', 'concludeFinal', 'withdraw', 'withdraw'],
    )
    assert.equal(s.coSignedStates, 4) // open, fund, release, close
    assert.equal(s.forcedSteps, 0)
  })

  it('--refuse: the payer will not pay, the payee forces the arbiter ruling on chain', async () => {
    const s = await runEscrowDemo({ refuse: true })
    assert.equal(s.ok, true)
    assert.equal(s.path, 'forced')
    assert.equal(s.outcome, 'payee-paid')
    assert.deepEqual(
      s.payouts.map((p) => [p.role, p.withdrawn]),
      [
        ['payer', 600_000_000_000_000_000n],
        ['payee', 400_000_000_000_000_000n],
      ],
    )
    assert.deepEqual(
      s.gas.transactions.map((t) => t.action),
      ['deposit', 'forceProgress', 'conclude', 'withdraw', 'withdraw'],
    )
    assert.ok(s.steps.some((e) => e.kind === 'refused' && e.actor === 'payer'))
    assert.match(s.steps.find((e) => e.kind === 'nodes')?.text ?? '', /processes of their own/)
    assert.equal(s.forcedSteps, 1)
  })
})
