import { describeOutcome } from './describeOutcome.ts'
import { BLOCK_CONTEXT_SKEW } from './runCheckSequence.ts'
import type { CheckReport } from './types.ts'

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length))

/**
 * The report of `chanvm app check` as lines a person reads: what ran, gas per action on chain,
 * and either the clean bill or the finding with its shortest sequence, step by step, both sides'
 * outcomes on the step at fault. `roles` names the movers.
 *
 * @example
 * ```ts
 * for (const line of formatCheckReport(report, ['consumer', 'provider'])) console.log(line)
 * ```
 */
export function formatCheckReport(
  r: CheckReport,
  roles: readonly string[] = ['participant 0', 'participant 1'],
): string[] {
  const lines = [
    `app check of ${r.app}: ${r.sequences} sequences (seed ${r.seed}), ${r.steps} steps run in the sandbox and forced on chain, ${r.accepted} accepted`,
    `sandbox gas cap ${r.gasCap}; the sandbox's block is the chain's + ${BLOCK_CONTEXT_SKEW.blockNumber} blocks and + ${BLOCK_CONTEXT_SKEW.timestamp} s (env is the chain's)`,
    'gas per action on chain (forceProgress transaction min / mean / max; the app’s own transition, most seen):',
  ]
  const width = Math.max(8, ...Object.keys(r.gas).map((k) => k.length + 2))
  for (const [name, g] of Object.entries(r.gas).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      `  ${pad(name, width)} ${pad(`x${g.count}`, 6)} ${g.txMin} / ${g.txMean} / ${g.txMax}   app ${g.appMax}`,
    )
  }
  const f = r.findings[0]
  if (f === undefined) {
    lines.push(
      'clean bill: the sandbox and the chain agreed on every step, and no step broke a rule an app must keep',
    )
    return lines
  }
  lines.push(`FOUND ${f.kind}: ${f.message}`)
  lines.push(`shortest sequence (${f.sequence.length} step${f.sequence.length === 1 ? '' : 's'}):`)
  f.sequence.forEach((s, i) => {
    const who = roles[Number(s.step.mover)] ?? `participant ${s.step.mover}`
    lines.push(
      `  ${i + 1}. ${s.step.label} by ${who}, ${s.step.advance} s later (block ${s.env.blockNumber}, time ${s.env.timestamp})`,
    )
    if (i === f.sequence.length - 1) {
      lines.push(`       sandbox: ${describeOutcome(s.sandbox)}`)
      lines.push(`       chain:   ${describeOutcome(s.chain)}`)
    }
  })
  lines.push(`replay it with --seed ${r.seed}`)
  return lines
}
