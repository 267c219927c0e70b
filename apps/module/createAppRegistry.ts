import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppModule } from '../types.ts'

/** The apps a node runs, found by name (commands, API, configuration) or by code hash (channel params). */
export type AppRegistry = {
  readonly list: readonly AppModule[]
  /** The names, in the order the registry was given. */
  readonly names: readonly string[]
  byName(name: string): AppModule | undefined
  byCodeHash(codeHash: Hex): AppModule | undefined
}

/**
 * A registry of app modules. Two apps with one name or one runtime code (code hash) are `CONFIG`:
 * a channel's app is found by its code hash, so it must name one app.
 *
 * @example
 * ```ts
 * const registry = createAppRegistry([...BUILT_IN_APPS, loadAppModule('./counter/manifest.json')])
 * registry.byName('counter')?.artifact.codeHash
 * ```
 */
export function createAppRegistry(modules: readonly AppModule[]): AppRegistry {
  const byName = new Map<string, AppModule>()
  const byHash = new Map<string, AppModule>()
  for (const m of modules) {
    if (byName.has(m.name)) throw new ChanvmError('CONFIG', `two apps are named ${m.name}`)
    const hash = m.artifact.codeHash.toLowerCase()
    const other = byHash.get(hash)
    if (other !== undefined)
      throw new ChanvmError(
        'CONFIG',
        `the apps ${other.name} and ${m.name} have the same runtime code (${hash})`,
      )
    byName.set(m.name, m)
    byHash.set(hash, m)
  }
  return {
    list: [...modules],
    names: modules.map((m) => m.name),
    byName: (name) => byName.get(name),
    byCodeHash: (hash) => byHash.get(hash.toLowerCase()),
  }
}
