import { BUILT_IN_REGISTRY } from '../apps/builtInRegistry.ts'
import { loadDemos } from '../cli/demo/loadDemos.ts'
import { runDemo } from '../cli/demo/runDemo.ts'
import { appKey } from './appKey.ts'

/**
 * The gas of each built-in app's forced step (each one with a demo), keyed by its name in camel case: the `--refuse` run
 * of its demo (embedded anvil and broker, both nodes in this process), where the losing party
 * refuses and the other forces the decisive step on chain (for the escrow, the arbiter's ruling;
 * for the tv-delivery, the claim with 2 of 3 oracle answers; for the cold-chain, the report of 3
 * P-256 readings with the excursion).
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
  const demos = new Set((await loadDemos()).map((d) => d.name))
  for (const deal of BUILT_IN_REGISTRY.names.filter((n) => demos.has(n))) {
    const summary = await runDemo(deal, { refuse: true, partyProcesses: false })
    if (!summary.ok) throw new Error(`the ${deal} demo did not end as expected`)
    const forced = summary.gas.transactions.find((t) => t.action === 'forceProgress')
    if (forced === undefined) throw new Error(`the ${deal} demo forced no step`)
    const step = summary.steps.find((e) => e.kind === 'force-progress')
    out[appKey(deal)] = { forcedStepGas: Number(forced.gasUsed), forcedStep: step?.text ?? 'forceProgress' }
    log(`  deals: ${deal} forced step ${forced.gasUsed} gas`)
  }
  return out
}
