// The bundle of the `chanvm` command (cli/build.ts writes it to dist/chanvm/) and the check that it
// is current, shared by the build and by the plain-JavaScript launchers (cli/bin.mjs,
// cli/demo/demoNode.mjs), which run before anything can load TypeScript.
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The bundle's folder. */
export const BUNDLE_DIR = new URL('../dist/chanvm/', import.meta.url)

/**
 * npm packages left outside a bundle, loaded from node_modules at run time: native addons (found
 * beside their package's files), packages that find files or binaries beside their own (anvil's
 * binary, solc's compiler, esbuild's), tsx (registered by path), and @ethereumjs, whose interpreter
 * the sandbox patches in the package's own module (engine/sandbox/cacheJumpAnalysis.ts), so a
 * bundled copy would run unpatched. Every other package is bundled: a start then does not have
 * node's loader find, read and link the many small files of viem, ox, fastify or mqtt.
 */
export const NOT_BUNDLED = [
  'better-sqlite3',
  'secp256k1',
  'bufferutil',
  'utf-8-validate',
  'tsx',
  'esbuild',
  'solc',
  '@foundry-rs/*',
  '@ethereumjs/*',
]

/**
 * The first line of every bundled file: a bundle is ES modules, and the CommonJS packages bundled
 * into it call `require` (for node's own modules), which an ES module does not have.
 */
export const REQUIRE_SHIM =
  "import { createRequire as __chanvmRequire } from 'node:module'; const require = __chanvmRequire(import.meta.url);"

/**
 * Whether `dir` holds a TypeScript file itself.
 *
 * @param {string} dir
 * @returns {boolean}
 */
function holdsTypeScript(dir) {
  try {
    return readdirSync(dir).some((name) => name.endsWith('.ts'))
  } catch {
    return false
  }
}

/**
 * A SHA-256 over the bytes of each file of `files` and over the TypeScript files and the folders
 * holding TypeScript files (an app's or a demo's folder, which the sources find by listing) each
 * folder of `dirs` lists, all relative to `root`: an edited, added or removed source changes it.
 * Other folders do not: a build output such as `examples/metered/out/`, which the metered demo
 * writes on its first run, leaves the bundle current. A file that cannot be read counts as missing,
 * which changes it too.
 *
 * @param {string} root the checkout's folder
 * @param {readonly string[]} files source files, relative to `root`, with `/`
 * @param {readonly string[]} dirs folders whose listing matters, relative to `root`, with `/`
 * @returns {string} hex digest
 */
export function sourcesDigest(root, files, dirs) {
  const hash = createHash('sha256')
  for (const file of files) {
    hash.update(`file ${file}\0`)
    try {
      hash.update(readFileSync(join(root, file)))
    } catch {
      hash.update('\0missing\0')
    }
  }
  for (const dir of dirs) {
    hash.update(`dir ${dir}\0`)
    try {
      const names = readdirSync(join(root, dir), { withFileTypes: true })
        .filter((e) => (e.isDirectory() ? holdsTypeScript(join(root, dir, e.name)) : e.name.endsWith('.ts')))
        .map((e) => e.name)
        .sort()
      hash.update(names.join('\0'))
    } catch {
      hash.update('\0missing\0')
    }
  }
  return hash.digest('hex')
}

/**
 * The URL of the bundled entry `name` (`chanvm`, `demoNode`) when the bundle was built in this
 * checkout from the sources as they are now; undefined when there is no bundle, it was built
 * elsewhere, any of its sources changed, or CHANVM_NO_BUNDLE=1.
 *
 * @param {string} name an entry of the bundle's build.json
 * @returns {string | undefined}
 */
export function bundleEntry(name) {
  if (process.env.CHANVM_NO_BUNDLE === '1') return undefined
  try {
    const m = JSON.parse(readFileSync(new URL('build.json', BUNDLE_DIR), 'utf8'))
    const root = fileURLToPath(new URL('..', import.meta.url)).replace(/[/\\]$/, '')
    const entry = m.entries?.[name]
    if (m.root !== root || typeof entry !== 'string') return undefined
    if (sourcesDigest(m.root, m.files, m.dirs) !== m.digest) return undefined
    return new URL(entry, BUNDLE_DIR).href
  } catch {
    return undefined
  }
}

/**
 * Runs the bundled entry `name` when the bundle is current, otherwise `source` (a TypeScript
 * module's URL) through tsx.
 *
 * @param {string} name an entry of the bundle's build.json
 * @param {URL} source the entry's TypeScript source
 * @returns {Promise<void>}
 */
export async function runEntry(name, source) {
  const bundle = bundleEntry(name)
  if (bundle !== undefined) {
    await import(bundle)
    return
  }
  const { register } = await import('tsx/esm/api')
  register()
  await import(source.href)
}
