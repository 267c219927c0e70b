// The cold-chain insurance's `chanvm demo cold-chain` (found by cli/demo/loadDemos.ts).
import type { Demo } from '../../cli/demo/types.ts'
import { appModule } from './appModule.ts'
import { runColdChainDemo } from './runColdChainDemo.ts'

/** The cold-chain insurance as `chanvm demo cold-chain` runs it ({@link runColdChainDemo}). */
export const demo: Demo = {
  name: appModule.name,
  summary:
    'owner pays premiums, the thermometer reports an excursion, the owner gets the insured sum (--refuse: forced)',
  run: (options) => runColdChainDemo(options),
}
