import type { Hex } from 'viem'
import type { BlockRef } from './types.ts'

/**
 * Checks the blocks the watcher read up to against the chain, newest first. `'unchanged'` when
 * the newest is still canonical (a block hash commits to all its ancestors, so one look suffices
 * in the usual case); otherwise the newest kept block that is still canonical, or undefined when
 * none is (a reorganisation deeper than the kept blocks).
 *
 * @example
 * ```ts
 * const fork = await findForkPoint(kept, (n) => chain.blockHash(n))
 * if (fork !== 'unchanged') cursor = (fork?.number ?? kept[0].number - 1n) + 1n
 * ```
 */
export async function findForkPoint(
  kept: readonly BlockRef[],
  blockHash: (n: bigint) => Promise<Hex | undefined>,
): Promise<BlockRef | undefined | 'unchanged'> {
  for (let i = kept.length - 1; i >= 0; i--) {
    const b = kept[i]
    if (b === undefined) continue
    const hash = await blockHash(b.number)
    if (hash !== undefined && hash.toLowerCase() === b.hash.toLowerCase()) {
      return i === kept.length - 1 ? 'unchanged' : b
    }
  }
  return kept.length === 0 ? 'unchanged' : undefined
}
