import { readFileSync } from 'node:fs'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppArtifact } from '../types.ts'
import { artifactFromJson } from './artifactFromJson.ts'

/**
 * The app artifact in the file `path` (see {@link artifactFromJson}); an unreadable file or one that
 * is not JSON is `CONFIG`.
 *
 * @example
 * ```ts
 * const artifact = readArtifact('out/Counter.sol/Counter.json')
 * ```
 */
export function readArtifact(path: string, contract?: string): AppArtifact {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new ChanvmError('CONFIG', `artifact ${path}: cannot be read (${(e as Error).message})`, {
      cause: e,
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ChanvmError('CONFIG', `artifact ${path}: not JSON`)
  }
  return artifactFromJson(json, contract === undefined ? { source: path } : { source: path, contract })
}
