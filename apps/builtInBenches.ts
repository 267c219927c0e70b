// The benchmark inputs of the built-in apps: every app folder with a `bench.ts` (exporting `bench`).
// Only `npm run bench` loads them; the node never does.
import { existsSync, readdirSync } from 'node:fs'
import { BUILT_IN_APPS } from './builtInApps.ts'
import type { AppBenchInput, AppModule } from './types.ts'

const folders = readdirSync(new URL('.', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(new URL(`./${e.name}/bench.ts`, import.meta.url)))
  .map((e) => e.name)
  .sort()

/**
 * Each built-in app that declares benchmark inputs, with them, in the registry's order.
 *
 * @example
 * ```ts
 * for (const { app, bench } of await builtInBenches()) console.log(app.name, bench.warmUp ?? 20)
 * ```
 */
export async function builtInBenches(): Promise<{ app: AppModule; bench: AppBenchInput }[]> {
  const out: { app: AppModule; bench: AppBenchInput }[] = []
  for (const f of folders) {
    const { appModule } = (await import(`./${f}/appModule.ts`)) as { appModule: AppModule }
    const { bench } = (await import(`./${f}/bench.ts`)) as { bench: AppBenchInput }
    out.push({ app: appModule, bench })
  }
  const order = BUILT_IN_APPS.map((a) => a.name)
  return out.sort((a, b) => order.indexOf(a.app.name) - order.indexOf(b.app.name))
}
