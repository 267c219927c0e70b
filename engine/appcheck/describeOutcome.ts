import type { StepOutcome } from './types.ts'

/**
 * One line for a step's outcome on one side.
 *
 * @example
 * ```ts
 * describeOutcome({ kind: 'revert', data: '0x', reason: 'Overspend(5, 1)' }) // 'reverted: Overspend(5, 1)'
 * ```
 */
export function describeOutcome(o: StepOutcome): string {
  switch (o.kind) {
    case 'state':
      return `version ${o.state.version}, balances [${o.state.balances.join(', ')}]${o.state.isFinal ? ', final' : ''}, appData ${o.state.appData}`
    case 'revert':
      return `reverted: ${o.reason}`
    default:
      return `${o.kind}: ${o.reason}`
  }
}
