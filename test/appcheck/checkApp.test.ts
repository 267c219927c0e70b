// `checkApp` on apps written only for these tests (test/fixtures/appcheck/Tally.sol): a clean one
// passes, and each planted fault is found with the shortest sequence that shows it.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { checkApp } from '../../engine/appcheck/checkApp.ts'
import type { CheckReport } from '../../engine/appcheck/types.ts'
import { compileFixture, type CompiledContract } from './compileFixture.ts'
import { close, pay, tallySubject } from './tallySubject.ts'

const labels = (r: CheckReport): string[] =>
  (r.findings[0]?.sequence ?? []).map((s) => `${s.step.label} by ${s.step.mover}`)

describe('chanvm app check: planted faults and a clean app (sandbox against forceProgress on anvil)', function () {
  this.timeout(300_000)
  let contracts: Record<string, CompiledContract>
  const contract = (name: string): CompiledContract => {
    const c = contracts[name]
    assert(c !== undefined, name)
    return c
  }
  before(() => {
    contracts = compileFixture(join(import.meta.dirname, '../fixtures/appcheck/Tally.sol')).contracts
  })

  it('gives a clean bill to an app that keeps the rules, with gas per action on chain', async () => {
    const r = await checkApp(tallySubject(contract('Tally'), [[pay(0n, 5n), pay(1n, 7n), close(1n)]]), {
      runs: 10,
      seed: 42,
    })
    assert.deepEqual(r.findings, [])
    assert(r.steps >= 10, `${r.steps} steps ran`)
    const payGas = r.gas.pay
    assert(payGas !== undefined && payGas.count > 0)
    assert(
      payGas.txMin > 21_000n && payGas.txMax < 200_000n,
      `pay costs ${payGas.txMin}..${payGas.txMax} gas`,
    )
    assert(payGas.appMax > 0n && payGas.appMax < payGas.txMin, `the app's own share is ${payGas.appMax}`)
    assert(r.gas.close !== undefined)
  })

  it('finds an app that reads block.timestamp: the third payment, shrunk to three zero payments', async () => {
    const r = await checkApp(tallySubject(contract('TallyTimestamp')), { runs: 20, seed: 1 })
    assert.equal(r.findings[0]?.kind, 'block-context')
    assert.deepEqual(labels(r), ['pay(amount=0) by 0', 'pay(amount=0) by 0', 'pay(amount=0) by 0'])
  })

  it('finds an app that reads gasleft(): one payment of 51', async () => {
    const r = await checkApp(tallySubject(contract('TallyGasleft')), { runs: 20, seed: 1 })
    assert.equal(r.findings[0]?.kind, 'gasleft')
    assert.deepEqual(labels(r), ['pay(amount=51) by 0'])
  })

  it('finds a balance leak: one payment of 101, one wei lost', async () => {
    const r = await checkApp(tallySubject(contract('TallyLeak')), { runs: 20, seed: 1 })
    assert.equal(r.findings[0]?.kind, 'not-conserved')
    assert.match(r.findings[0]?.message ?? '', /sum to 1999, the channel holds 2000/)
    assert.deepEqual(labels(r), ['pay(amount=101) by 0'])
  })

  it('shortens a given sequence that leaks to the one step at fault', async () => {
    const given = [pay(0n, 5n), pay(1n, 3n), pay(0n, 120n), close(0n)]
    const r = await checkApp(tallySubject(contract('TallyLeak'), [given]), { runs: 1, seed: 1 })
    assert.equal(r.findings[0]?.kind, 'not-conserved')
    assert.deepEqual(labels(r), ['pay(amount=120) by 0'])
  })

  it('finds a final state that still takes a step', async () => {
    const r = await checkApp(tallySubject(contract('TallyNotFinal')), { runs: 20, seed: 1 })
    assert.equal(r.findings[0]?.kind, 'not-final')
    assert.equal(r.findings[0]?.sequence.length, 2)
    assert.equal(r.findings[0]?.sequence[0]?.step.label, 'close()')
  })

  it('finds an app that needs more gas than the sandbox allows', async () => {
    const r = await checkApp(tallySubject(contract('TallyGasHog')), { runs: 20, seed: 1 })
    assert.equal(r.findings[0]?.kind, 'gas-cap')
    assert.deepEqual(labels(r), ['pay(amount=151) by 0'])
    assert.match(r.findings[0]?.message ?? '', /more than the sandbox's cap of 5000000/)
  })
})
