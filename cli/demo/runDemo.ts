import { ChanvmError } from '../../engine/errors.ts'
import { runColdChainDemo } from './runColdChainDemo.ts'
import { runEscrowDemo } from './runEscrowDemo.ts'
import { runTvDeliveryDemo } from './runTvDeliveryDemo.ts'
import type { DealName, DemoOptions, DemoSummary } from './types.ts'

/** Options of {@link runDemo}: the common demo options plus the deal-specific ones. */
export type RunDemoOptions = DemoOptions & {
  /** tv-delivery only: how many of the three oracles answer "delivered" (default 2, the quorum). */
  answers?: number
}

/**
 * Runs the named deal's demo; what `chanvm demo <deal>` calls.
 *
 * @example
 * ```ts
 * const summary = await runDemo('escrow', { refuse: true })
 * process.exitCode = summary.ok ? 0 : 1
 * ```
 */
export async function runDemo(deal: DealName, options: RunDemoOptions = {}): Promise<DemoSummary> {
  const { answers, ...common } = options
  switch (deal) {
    case 'escrow':
      return runEscrowDemo(common)
    case 'tv-delivery':
      return runTvDeliveryDemo({ ...common, ...(answers === undefined ? {} : { answers }) })
    case 'cold-chain':
      return runColdChainDemo(common)
    default:
      throw new ChanvmError('CONFIG', `unknown deal ${String(deal)}`)
  }
}
