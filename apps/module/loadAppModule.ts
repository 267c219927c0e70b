import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppModule } from '../types.ts'
import { appModuleFromManifest } from './appModuleFromManifest.ts'
import { readArtifact } from './readArtifact.ts'

/**
 * A user's app from its manifest file: the manifest's `artifact` (a path relative to the manifest,
 * a solc standard JSON output with `contract` naming the contract, or a Foundry artifact) read and
 * checked (it must implement IApp), then the manifest checked against it. Every problem is
 * `CONFIG` naming the file and the field.
 *
 * @example
 * ```ts
 * const app = loadAppModule('./counter/manifest.json')
 * app.name // 'counter'
 * ```
 */
export function loadAppModule(manifestPath: string): AppModule {
  let manifest: unknown
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  } catch (e) {
    throw new ChanvmError(
      'CONFIG',
      `manifest ${manifestPath}: cannot be read as JSON (${(e as Error).message})`,
      {
        cause: e,
      },
    )
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    throw new ChanvmError('CONFIG', `manifest ${manifestPath}: not a JSON object`)
  const { artifact, contract } = manifest as Record<string, unknown>
  if (typeof artifact !== 'string' || artifact === '')
    throw new ChanvmError('CONFIG', `manifest ${manifestPath} artifact: the path of the compiled contract`)
  if (contract !== undefined && typeof contract !== 'string')
    throw new ChanvmError('CONFIG', `manifest ${manifestPath} contract: the contract's name`)
  const compiled = readArtifact(resolve(dirname(manifestPath), artifact), contract)
  return appModuleFromManifest(manifest, compiled, `manifest ${manifestPath}`)
}
