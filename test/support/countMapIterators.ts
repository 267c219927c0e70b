/**
 * How many key iterators `run` makes over any Map (`Map.prototype.keys`), counted while it runs:
 * a structural check of a bounded map's eviction, which a time budget on a shared machine is not.
 *
 * @example
 * ```ts
 * assert.equal(countMapIterators(() => book.add(input)), 0)
 * ```
 */
export function countMapIterators(run: () => void): number {
  const keys = Map.prototype.keys
  let iterators = 0
  Map.prototype.keys = function (this: Map<unknown, unknown>) {
    iterators++
    return keys.call(this)
  }
  try {
    run()
  } finally {
    Map.prototype.keys = keys
  }
  return iterators
}
