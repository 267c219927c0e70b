import { runDemo } from '../cli/demo/runDemo.ts'
import type { DealName } from '../cli/demo/types.ts'

const keys: Record<DealName, string> = {
  escrow: 'escrow',
  'tv-delivery': 'tvDelivery',
  'cold-chain': 'coldChain',
}

/**
 * The gas of each deal's forced step: the `--refuse` run of its demo (embedded anvil and broker,
 * both nodes in this process), where the losing party refuses and the other forces the decisive
 * step on chain: the arbiter's ruling (escrow), the claim with 2 of 3 oracle answers
 * (tv-delivery), the report of 3 P-256 readings with the excursion (cold-chain).
 *
 * @example
 * ```ts
 * const { coldChain } = await benchDeals() // { forcedStepGas: 169282, action: '...' }
 * ```
 */
export async function benchDeals(
  log: (s: string) => void = () => undefined,
): Promise<Record<string, { forcedStepGas: number; forcedStep: string }>> {
  const out: Record<string, { forcedStepGas: number; forcedStep: string }> = {}
  for (const deal of Object.keys(keys) as DealName[]) {
    const summary = await runDemo(deal, { refuse: true, partyProcesses: false })
    if (!summary.ok) throw new Error(`the ${deal} demo did not end as expected`)
    const forced = summary.gas.transactions.find((t) => t.action === 'forceProgress')
    if (forced === undefined) throw new Error(`the ${deal} demo forced no step`)
    const step = summary.steps.find((e) => e.kind === 'force-progress')
    out[keys[deal] ?? deal] = {
      forcedStepGas: Number(forced.gasUsed),
      forcedStep: step?.text ?? 'forceProgress',
    }
    log(`  deals: ${deal} forced step ${forced.gasUsed} gas`)
  }
  return out
}
