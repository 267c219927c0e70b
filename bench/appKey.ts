/**
 * The key of an app's figures in the bench's JSON: its name in camel case (`tv-delivery` ->
 * `tvDelivery`), so `escrowStepsPerSec` and `apps.tvDelivery` keep their names.
 *
 * @example
 * ```ts
 * appKey('cold-chain') // 'coldChain'
 * ```
 */
export function appKey(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}
