/**
 * Bundles the `chanvm` command (cli/main.ts and every module it loads, the demos included) with
 * esbuild into `dist/chanvm/`, so `chanvm` starts on plain node instead of loading each TypeScript
 * module through tsx, with its npm packages but for `NOT_BUNDLED` (cli/bundleEntry.mjs); modules a command loads
 * only when it runs go into their own chunks, loaded on first use.
 *
 * The bundle behaves as the sources do:
 * - each source keeps its own `import.meta.url` (the URL of the `.ts` file), so the files it finds
 *   beside itself (manifests, the dashboard, the apps' folders) are found where they are;
 * - a dynamic `import(url)` of a module the bundle holds (the demos `loadDemos` finds) loads the
 *   bundled module, one instance of each module per process; any other TypeScript module is
 *   loaded through tsx, registered on first need.
 *
 * Beside the bundle, `build.json` records the checkout's folder, the sources the bundle was built
 * from and their digest (cli/bundleEntry.mjs). cli/bin.mjs runs the bundle only while that digest
 * still holds and falls back to tsx otherwise, so an edited checkout never runs stale code. A build
 * whose sources did not change since the last one is skipped.
 *
 * Run: `npm run build` (also runs on `npm install` and before `npm test`).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { BUNDLE_DIR, NOT_BUNDLED, REQUIRE_SHIM, sourcesDigest } from './bundleEntry.mjs'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = fileURLToPath(BUNDLE_DIR).replace(/[/\\]$/, '')
const manifestPath = join(outDir, 'build.json')
/** Files that shape the bundle without being in it (the lock file: the packages bundled in). */
const BUILD_FILES = ['cli/build.ts', 'cli/bundleEntry.mjs', 'package-lock.json']
/**
 * The bundle's entries: the command, the node process a demo starts for each party, the input
 * source's verifier thread (oracles/mqtt/createVerifierPool.ts starts it by URL, which the build
 * defines for the bundled pool as `CHANVM_BUNDLED_VERIFIER_ENTRY`) and the party's crypto thread
 * (engine/crypto/createCryptoPool.ts, `CHANVM_BUNDLED_CRYPTO_ENTRY`).
 */
const ENTRIES = ['chanvm', 'demoNode', 'checkEnvelopesInWorker', 'cryptoWorker'] as const
/** Where `loadDemos` looks for demos (cli/demo/loadDemos.ts). */
const DEMO_ROOTS = ['apps', 'examples']

/** What cli/bin.mjs reads beside the bundle. */
export type BundleManifest = {
  /** The checkout the bundle was built in; the bundle names its sources by absolute URL. */
  root: string
  /** Each entry's file, relative to the manifest's folder. */
  entries: Record<(typeof ENTRIES)[number], string>
  /** Sources, relative to `root`. */
  files: string[]
  /** Folders whose listing the sources read (relative to `root`). */
  dirs: string[]
  /** `sourcesDigest(root, files, dirs)` when the bundle was built. */
  digest: string
}

const toPosix = (p: string): string => p.split(sep).join('/')

function previousBuildHolds(): boolean {
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as BundleManifest
    return (
      m.root === repo &&
      ENTRIES.every((e) => existsSync(join(outDir, `${e}.mjs`))) &&
      sourcesDigest(m.root, m.files, m.dirs) === m.digest
    )
  } catch {
    return false
  }
}

/** Every `<root>/<folder>/demo.ts`: the modules `loadDemos` imports by URL. */
function demoFiles(): string[] {
  return DEMO_ROOTS.flatMap((root) =>
    existsSync(join(repo, root))
      ? readdirSync(join(repo, root), { withFileTypes: true })
          .filter((e) => e.isDirectory() && existsSync(join(repo, root, e.name, 'demo.ts')))
          .map((e) => join(repo, root, e.name, 'demo.ts'))
          .sort()
      : [],
  )
}

/**
 * The module every rewritten dynamic import goes through: the bundled copy of a source it holds,
 * tsx for any other TypeScript file, plain `import()` for the rest.
 */
function importerModule(bundled: readonly string[]): string {
  const table = bundled
    .map((file) => `  ${JSON.stringify(pathToFileURL(file).href)}: () => import(${JSON.stringify(file)}),`)
    .join('\n')
  return `const bundled = {\n${table}\n}
let tsx
export function __chanvmImport(specifier) {
  const load = bundled[String(specifier)]
  if (load !== undefined) return load()
  if (!/\\.[cm]?tsx?$/.test(String(specifier).split(/[?#]/)[0])) return import(specifier)
  tsx ??= import('tsx/esm/api').then((api) => api.register())
  return tsx.then(() => import(specifier))
}
`
}

/** Gives each checkout source its own `import.meta.url` and routes its dynamic imports. */
function asInSources(importer: string): Plugin {
  return {
    name: 'chanvm-as-in-sources',
    setup(b) {
      b.onResolve({ filter: /^chanvm-bundle:import$/ }, () => ({ path: importer, namespace: 'chanvm' }))
      b.onLoad({ filter: /.*/, namespace: 'chanvm' }, () => ({
        contents: importerModule(demoFiles()),
        loader: 'js',
        resolveDir: repo,
      }))
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined
        const source = readFileSync(args.path, 'utf8')
        const contents = source
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          // `import(name)` with a variable (not a literal, not a template): the bundle's router.
          .replace(/(?<![.\w$])import\(\s*([A-Za-z_][\w$.]*)\s*\)/g, '__chanvmImport($1)')
        const routed = contents.includes('__chanvmImport(')
        return {
          contents: routed ? `import { __chanvmImport } from 'chanvm-bundle:import'\n${contents}` : contents,
          loader: 'ts',
        }
      })
    },
  }
}

if (previousBuildHolds()) {
  console.log(`cli: the bundle in ${outDir} is up to date`)
} else {
  const staging = `${outDir}.${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  const result = await build({
    entryPoints: {
      chanvm: join(repo, 'cli', 'main.ts'),
      demoNode: join(repo, 'cli', 'demo', 'demoNodeMain.ts'),
      checkEnvelopesInWorker: join(repo, 'oracles', 'mqtt', 'checkEnvelopesInWorker.ts'),
      cryptoWorker: join(repo, 'engine', 'crypto', 'cryptoWorker.ts'),
    },
    define: {
      CHANVM_BUNDLED_VERIFIER_ENTRY: JSON.stringify(
        pathToFileURL(join(outDir, 'checkEnvelopesInWorker.mjs')).href,
      ),
      CHANVM_BUNDLED_CRYPTO_ENTRY: JSON.stringify(pathToFileURL(join(outDir, 'cryptoWorker.mjs')).href),
    },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...NOT_BUNDLED],
    banner: { js: REQUIRE_SHIM },
    keepNames: true,
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
    plugins: [asInSources('importer')],
  })
  const files = [
    ...new Set([
      ...BUILD_FILES,
      ...Object.keys(result.metafile.inputs)
        .filter((f) => !f.includes(':') && !f.includes('node_modules/'))
        .map((f) => toPosix(relative(repo, resolve(repo, f)))),
    ]),
  ].sort()
  const dirs = [...new Set([...DEMO_ROOTS, ...files.map((f) => toPosix(dirname(f)))])].sort()
  const manifest: BundleManifest = {
    root: repo,
    entries: {
      chanvm: 'chanvm.mjs',
      demoNode: 'demoNode.mjs',
      checkEnvelopesInWorker: 'checkEnvelopesInWorker.mjs',
      cryptoWorker: 'cryptoWorker.mjs',
    },
    files,
    dirs,
    digest: sourcesDigest(repo, files, dirs),
  }
  writeFileSync(join(staging, 'build.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  mkdirSync(dirname(outDir), { recursive: true })
  const old = `${outDir}.old.${process.pid}`
  if (existsSync(outDir)) renameSync(outDir, old)
  renameSync(staging, outDir)
  rmSync(old, { recursive: true, force: true })
  console.log(`cli: bundled the chanvm command from ${files.length} sources into ${outDir}`)
}
