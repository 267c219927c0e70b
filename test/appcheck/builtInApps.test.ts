// `chanvm app check` passes the built-in apps: random sequences of each one's actions, signed
// evidence included, agree between the sandbox and forceProgress on anvil, and break no rule.
import assert from 'node:assert/strict'
import { checkApp } from '../../engine/appcheck/checkApp.ts'
import type { CheckSubject } from '../../engine/appcheck/types.ts'
import { coldChainSubject, escrowSubject, tvDeliverySubject } from './builtInSubjects.ts'

describe('chanvm app check passes the built-in apps (sandbox against forceProgress on anvil)', function () {
  this.timeout(300_000)
  const cases: [string, () => CheckSubject, string[]][] = [
    ['escrow', escrowSubject, ['fund', 'release', 'ruling', 'refund', 'close']],
    ['tv-delivery', tvDeliverySubject, ['pay', 'claim', 'refund', 'close']],
    ['cold-chain', coldChainSubject, ['payPremium', 'report', 'close']],
  ]
  for (const [name, subject, actions] of cases) {
    it(`${name}: a clean bill, gas for each action`, async () => {
      const r = await checkApp(subject(), { runs: 20, seed: 11 })
      assert.deepEqual(
        r.findings.map((f) => `${f.kind}: ${f.message}`),
        [],
      )
      assert(r.accepted >= 8, `${r.accepted} of ${r.steps} steps accepted`)
      for (const a of actions) assert(r.gas[a] !== undefined, `${a} ran on chain`)
    })
  }
})
