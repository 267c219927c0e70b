import { existsSync, readdirSync } from 'node:fs'
import { ChanvmError } from '../../engine/errors.ts'
import type { Demo } from './types.ts'

/** Where demos are found: each folder of these with a `demo.ts` (and, for an example, its manifest). */
const PLACES = [
  // The built-in apps' folders: `apps/<x>/demo.ts` beside the app's `appModule.ts`.
  { root: new URL('../../apps/', import.meta.url), beside: 'appModule.ts' },
  // Apps built the way a user builds one: `examples/<x>/demo.ts` beside the app's `manifest.json`.
  { root: new URL('../../examples/', import.meta.url), beside: 'manifest.json' },
] as const

const isDemo = (v: unknown): v is Demo => {
  const d = v as Partial<Demo> | null
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.name === 'string' &&
    typeof d.summary === 'string' &&
    typeof d.run === 'function'
  )
}

let loaded: Promise<readonly Demo[]> | undefined

/**
 * The demos `chanvm demo` runs: the `demo` export of every `demo.ts` in a built-in app's folder
 * (`apps/<x>/`, beside its `appModule.ts`) and in an example app's folder (`examples/<x>/`, beside
 * its `manifest.json`), built-in ones first, each group in its folders' order. Nothing here names
 * a deal: a new demo is a `demo.ts` in its app's folder. A file whose `demo` is not a {@link Demo},
 * or two demos with one name, are `CONFIG`. Loaded once per process.
 *
 * @example
 * ```ts
 * const demos = await loadDemos()
 * console.log(demos.map((d) => d.name)) // ['cold-chain', 'escrow', 'tv-delivery', 'metered']
 * ```
 */
export function loadDemos(): Promise<readonly Demo[]> {
  return (loaded ??= (async () => {
    const files = PLACES.flatMap(({ root, beside }) =>
      existsSync(root)
        ? readdirSync(root, { withFileTypes: true })
            .filter(
              (e) =>
                e.isDirectory() &&
                existsSync(new URL(`${e.name}/demo.ts`, root)) &&
                existsSync(new URL(`${e.name}/${beside}`, root)),
            )
            .map((e) => e.name)
            .sort()
            .map((name) => new URL(`${name}/demo.ts`, root))
        : [],
    )
    const demos: Demo[] = []
    for (const file of files) {
      const { demo } = (await import(file.href)) as { demo?: unknown }
      if (!isDemo(demo))
        throw new ChanvmError('CONFIG', `${file.pathname} exports no demo (a { name, summary, run })`)
      const twin = demos.find((d) => d.name === demo.name)
      if (twin !== undefined) throw new ChanvmError('CONFIG', `two demos are named ${demo.name}`)
      demos.push(demo)
    }
    return demos
  })().catch((e: unknown) => {
    loaded = undefined
    throw e
  }))
}
