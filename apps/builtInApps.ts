// The built-in apps: every folder of apps/ with an `appModule.ts` (exporting `appModule`). A new
// built-in app is its folder; nothing else lists it.
import { existsSync, readdirSync } from 'node:fs'
import type { AppModule } from './types.ts'

const folders = readdirSync(new URL('.', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(new URL(`./${e.name}/appModule.ts`, import.meta.url)))
  .map((e) => e.name)
  .sort()

/**
 * The app modules of the built-in apps, in the order of their folders' names.
 *
 * @example
 * ```ts
 * const registry = createAppRegistry(BUILT_IN_APPS)
 * ```
 */
export const BUILT_IN_APPS: readonly AppModule[] = await Promise.all(
  folders.map(async (f) => ((await import(`./${f}/appModule.ts`)) as { appModule: AppModule }).appModule),
)
