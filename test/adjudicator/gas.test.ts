// Gas bounds the docs promise (docs/adjudicator.md, "Gas"), measured from receipts on anvil by the
// same code as `npm run bench`: opening a dispute and a forced step on the state held stay below
// Nitro's published challenge (113,146 gas), a refutation below its checkpoint (73,936).
import assert from 'node:assert/strict'
import { benchGas } from '../../bench/gas.ts'

describe('Adjudicator gas (on anvil)', function () {
  it('register, a one-step forceProgress and a refutation stay below Nitro’s challenge and checkpoint', async () => {
    const gas = await benchGas()
    const below = (key: string, bound: number): void => {
      const used = gas[key]
      assert(used !== undefined && used > 21_000, `${key} measured`)
      assert(used < bound, `${key}: ${used} gas, bound ${bound}`)
    }
    below('register', 113_146)
    below('forceProgress', 113_146)
    below('registerRefute', 73_936)
  })
})
