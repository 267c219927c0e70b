import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** How a worker thread starts: a file URL it loads as it is, or code it evaluates. */
export type ThreadSource = { source: string | URL; eval: boolean }

/**
 * How to start the worker thread whose entry is `name` beside the module at `here` (its
 * `import.meta.url`). A thread runs the TypeScript sources as this process does, through tsx
 * registered in the thread (about a second of CPU to start). The `chanvm` bundle (cli/build.ts)
 * defines the URL of its own built entry, passed as `bundled`, and so does a bundle that ships
 * `name.mjs` beside the module: plain JavaScript, loaded without tsx, in tens of milliseconds.
 *
 * @example
 * ```ts
 * const boot = threadSource(undefined, import.meta.url, 'cryptoWorker')
 * const worker = new Worker(boot.source, { eval: boot.eval })
 * ```
 */
export function threadSource(bundled: string | undefined, here: string, name: string): ThreadSource {
  const entry =
    bundled ??
    (
      [new URL(`./${name}.ts`, here), new URL(`./${name}.mjs`, here)].find(
        (u) => u.protocol !== 'file:' || existsSync(fileURLToPath(u)),
      ) ?? new URL(`./${name}.ts`, here)
    ).href
  return entry.endsWith('.mjs')
    ? { source: new URL(entry), eval: false }
    : {
        source: `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}) })`,
        eval: true,
      }
}
