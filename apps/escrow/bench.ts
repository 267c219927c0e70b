import type { AppBenchInput } from '../types.ts'
import { escrowActions } from './escrowClient.ts'

/**
 * The escrow in `npm run bench`: FUND (1 wei; refundable in an hour, in 30 days in the loop) and RELEASE by the payer in
 * turn on one channel, for ever; the gas part forces a FUND of 0.1 ETH on chain.
 *
 * @example
 * ```ts
 * bench.step(0, ctx) // { by: 0, action: FUND }
 * ```
 */
export const bench: AppBenchInput = {
  open: (ctx) => ({ balances: [10n ** 18n, 0n], terms: { arbiter: ctx.third } }),
  step: (i, ctx) => ({
    by: 0,
    action: i % 2 === 0 ? escrowActions.fund(1n, ctx.env.timestamp + 3_600n) : escrowActions.release(),
  }),
  loop: (ctx) => [
    { action: 'fund', args: { amount: '1', deadline: (ctx.env.timestamp + 30n * 86_400n).toString() } },
    { action: 'release', args: {} },
  ],
  forced: (ctx) => ({
    action: 'fund',
    args: { amount: (10n ** 17n).toString(), deadline: (ctx.env.timestamp + 86_400n).toString() },
  }),
}
