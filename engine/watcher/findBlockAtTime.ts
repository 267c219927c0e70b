/**
 * The first block in `0..upTo` whose timestamp is at least `timestamp` (binary search; block
 * timestamps never decrease), or `upTo + 1` when there is none. The watcher uses it to find the
 * block the latest co-signed state of a dispute was registered in (its opening, or a later
 * replacement, which moves `movesUntil`): `movesUntil - challengeDuration`.
 *
 * @example
 * ```ts
 * const opened = await findBlockAtTime((n) => chain.blockTimestamp(n), rec.movesUntil - params.challengeDuration, head)
 * ```
 */
export async function findBlockAtTime(
  blockTimestamp: (n: bigint) => Promise<bigint>,
  timestamp: bigint,
  upTo: bigint,
): Promise<bigint> {
  let lo = 0n
  let hi = upTo + 1n
  while (lo < hi) {
    const mid = (lo + hi) / 2n
    if ((await blockTimestamp(mid)) >= timestamp) hi = mid
    else lo = mid + 1n
  }
  return lo
}
