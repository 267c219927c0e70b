import { readFileSync } from 'node:fs'

/**
 * The version of this chanvm build: package.json's `version`, read once. `chanvm --version` prints
 * it and `/metrics` carries it (`chanvm_build_info{version}`).
 *
 * @example
 * ```ts
 * console.log(`chanvm ${chanvmVersion()}`) // 'chanvm 0.1.0'
 * ```
 */
export function chanvmVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version
  return cached
}
let cached: string | undefined
