import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { Address, Hex } from 'viem'
import type { WatcherCheckpoint } from '../engine/watcher/types.ts'
import { ChanvmError } from '../engine/errors.ts'

/** Which chain and Adjudicator a checkpoint belongs to: one of another is never resumed from. */
export type CheckpointScope = { chainId: number; adjudicator: Address }

type CheckpointJson = {
  version: 1
  chainId: number
  adjudicator: string
  cursor: string | null
  blocks: { number: string; hash: string }[]
}

/**
 * Writes the watcher's place to `path` (JSON, bigints as decimal strings) through a temporary
 * file and a rename, so a crash leaves either the old file or the new one.
 *
 * @example
 * ```ts
 * writeWatcherCheckpoint(join(dataDir, 'watcher.json'), watcher.checkpoint(), { chainId, adjudicator })
 * ```
 */
export function writeWatcherCheckpoint(
  path: string,
  checkpoint: WatcherCheckpoint,
  scope: CheckpointScope,
): void {
  const body: CheckpointJson = {
    version: 1,
    chainId: scope.chainId,
    adjudicator: scope.adjudicator.toLowerCase(),
    cursor: checkpoint.cursor === undefined ? null : checkpoint.cursor.toString(),
    blocks: checkpoint.blocks.map((b) => ({ number: b.number.toString(), hash: b.hash })),
  }
  const tmp = `${path}.tmp`
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`)
  renameSync(tmp, path)
}

/**
 * Reads the watcher's place saved by {@link writeWatcherCheckpoint}: undefined when there is no
 * file or it belongs to another chain or Adjudicator (`onOtherScope` hears why). A file that cannot
 * be parsed is a `CONFIG` error naming it (the node does not silently start over from the head).
 *
 * @example
 * ```ts
 * const fromCheckpoint = readWatcherCheckpoint(path, { chainId, adjudicator })
 * ```
 */
export function readWatcherCheckpoint(
  path: string,
  scope: CheckpointScope,
  onOtherScope?: (why: string) => void,
): WatcherCheckpoint | undefined {
  if (!existsSync(path)) return undefined
  let body: CheckpointJson
  try {
    body = JSON.parse(readFileSync(path, 'utf8')) as CheckpointJson
    if (body.version !== 1 || !Array.isArray(body.blocks)) throw new Error('not a version 1 checkpoint')
    const blocks = body.blocks.map((b) => ({ number: BigInt(b.number), hash: b.hash as Hex }))
    if (body.chainId !== scope.chainId || body.adjudicator !== scope.adjudicator.toLowerCase()) {
      onOtherScope?.(
        `the saved watcher place is for chain ${body.chainId} and Adjudicator ${body.adjudicator}: not resumed`,
      )
      return undefined
    }
    return { cursor: body.cursor === null ? undefined : BigInt(body.cursor), blocks }
  } catch (cause) {
    throw new ChanvmError('CONFIG', `the watcher checkpoint ${path} cannot be read`, { cause })
  }
}
