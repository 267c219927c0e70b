/**
 * The funding rule: participant i has funded the channel once `deposited[i]` is at least its
 * initial balance. Returns the indices still short (empty when the channel is funded).
 *
 * @example
 * ```ts
 * decideFunding([600n, 400n], [0n, 400n]) // [0]
 * ```
 */
export function decideFunding(initialBalances: readonly bigint[], deposited: readonly bigint[]): number[] {
  return initialBalances.flatMap((b, i) => ((deposited[i] ?? 0n) >= b ? [] : [i]))
}
