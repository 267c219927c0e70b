// `chanvm demo metered`: the command line finds this file beside the app's manifest.json
// (cli/demo/loadDemos.ts); nothing outside this folder names the deal.
import type { Demo } from '../../cli/demo/types.ts'
import { runMeteredDemo } from './runMeteredDemo.ts'

/** The metered-payments deal as `chanvm demo metered` runs it ({@link runMeteredDemo}). */
export const demo: Demo = {
  name: 'metered',
  summary:
    'a signed meter reports usage, the consumer pays per second up to a cap (--refuse: provider forces it)',
  run: (options) => runMeteredDemo(options),
}
