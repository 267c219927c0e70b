// The escrow's `chanvm demo escrow` (found by cli/demo/loadDemos.ts): the payer funds, the payee
// delivers, the payer releases; with --refuse the arbiter's ruling is forced on chain.
import type { Demo } from '../../cli/demo/types.ts'
import { appModule } from './appModule.ts'
import { runEscrowDemo } from './runEscrowDemo.ts'

/** The escrow deal as `chanvm demo escrow` runs it ({@link runEscrowDemo}). */
export const demo: Demo = {
  name: appModule.name,
  summary: "payer funds, payee delivers, payer releases (--refuse: the arbiter's ruling on chain)",
  run: (options) => runEscrowDemo(options),
}
