import type { Hex } from 'viem'
import type { ProposedStep } from '../../engine/protocol/types.ts'

/**
 * Which proposals a demo party refuses to sign: those matching every given field. `reason` goes
 * into the signed reject.
 */
export type RefusalPolicy = {
  reason: string
  /** Only proposals by this participant. */
  mover?: number
  /** Only this exact encoded action. */
  action?: Hex
  /** Only proposals that raise this participant's balance above the state they build on. */
  balanceGrowsFor?: number
}

/**
 * The policy's reason when `step` matches every field it gives, else undefined.
 *
 * @example
 * ```ts
 * const why = refusalOf({ reason: 'will not pay', mover: 1, balanceGrowsFor: 1 }, step) // 'will not pay'
 * ```
 */
export function refusalOf(
  policy: RefusalPolicy,
  step: Pick<ProposedStep, 'mover' | 'action' | 'from' | 'to'>,
): string | undefined {
  if (policy.mover !== undefined && step.mover !== policy.mover) return undefined
  if (policy.action !== undefined && step.action.toLowerCase() !== policy.action.toLowerCase())
    return undefined
  const grows = policy.balanceGrowsFor
  if (grows !== undefined && (step.to.balances[grows] ?? 0n) <= (step.from.balances[grows] ?? 0n))
    return undefined
  return policy.reason
}
