// The TV purchase's `chanvm demo tv-delivery` (found by cli/demo/loadDemos.ts), with its own flag
// `--answers`: how many of the three oracles answer.
import type { Demo } from '../../cli/demo/types.ts'
import { appModule } from './appModule.ts'
import { runTvDeliveryDemo, TV_DEMO } from './runTvDeliveryDemo.ts'

/** The TV purchase as `chanvm demo tv-delivery [--answers N]` runs it ({@link runTvDeliveryDemo}). */
export const demo: Demo = {
  name: appModule.name,
  summary: 'buyer pays, 2 of 3 oracles answer "delivered", seller claims (--refuse: seller forces it)',
  flags: {
    answers: {
      type: 'string',
      value: '<n>',
      help: `how many of the ${TV_DEMO.oracles} oracles answer (default ${TV_DEMO.quorum}; 1 shows the refund)`,
      check: (v) =>
        /^\d+$/.test(v) && Number(v) <= TV_DEMO.oracles ? undefined : `takes 0 to ${TV_DEMO.oracles}`,
    },
  },
  run: ({ flags, ...options }) => {
    const answers = flags?.['answers']
    return runTvDeliveryDemo({
      ...options,
      ...(typeof answers === 'string' ? { answers: Number(answers) } : {}),
    })
  },
}
