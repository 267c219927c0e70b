/**
 * Compiles chanvm's Solidity with the pinned `solc` npm package and writes one typed artifact per
 * contract (`as const` ABI, creation bytecode, runtime bytecode):
 *
 * - every source under `contracts/src` into `contracts/generated/<Name>.ts`;
 * - each built-in app's contract, found by its folder: an `apps/<folder>/manifest.json` whose
 *   `artifact` names a `.sol` file of the folder. It is compiled as an app author's would be, with
 *   `chanvm/...` imports resolving to `contracts/src/...`, into `apps/<folder>/generated/<Name>.ts`
 *   (what the app's module imports) and, for tools and tests that name a contract, into
 *   `contracts/generated/<Name>.ts` too. No list of apps is kept here: a new app folder is built.
 *
 * Each source file is compiled on its own, so a broken file names itself and does not hide the
 * others. Output is deterministic: fixed compiler, fixed settings, no metadata hash, sorted keys.
 * A cache keyed by the compiler version, the settings and the bytes of every file a source pulls
 * in skips files that did not change.
 *
 * Run: `npm run build` (also runs on `npm install` and before `npm test`).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const root = dirname(fileURLToPath(import.meta.url))
const repo = resolve(root, '..')
const srcDir = join(root, 'src')
const appsDir = join(repo, 'apps')
const outDir = join(root, 'generated')
const cachePath = join(outDir, '.cache.json')

/** The prefix under which an app's Solidity imports chanvm's own (`chanvm/IApp.sol`). */
const CHANVM_PREFIX = 'chanvm/'

/** Compiler settings: fixed, so the same sources always give the same bytes. */
export const solcSettings = {
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  evmVersion: 'prague',
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
} as const

/** One Solidity file to compile, and where its imports and its artifacts go. */
type Source = {
  /** The file, relative to the repository: the cache's key and what errors name. */
  file: string
  /** Its source unit name for solc (imports inside it are resolved relative to this). */
  unit: string
  /** The file an imported source unit names, or undefined when this source may not import it. */
  fileOfUnit: (unit: string) => string | undefined
  /** The folders its artifacts are written to. */
  outDirs: string[]
}

type CacheEntry = { key: string; deps: string[]; outputs: string[] }
type Cache = Record<string, CacheEntry>

/** `path` when it lies inside `dir`, else undefined. */
function inside(dir: string, path: string): string | undefined {
  return path.startsWith(dir + sep) ? path : undefined
}

function listSol(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...listSol(p))
    else if (entry.name.endsWith('.sol')) out.push(p)
  }
  return out.sort()
}

/** The sources of `contracts/src`: source units named by their path under it (`Adjudicator.sol`). */
function chanvmSources(): Source[] {
  return listSol(srcDir).map((p) => ({
    file: relative(repo, p),
    unit: relative(srcDir, p).split(sep).join('/'),
    fileOfUnit: (unit) => inside(srcDir, resolve(srcDir, unit)),
    outDirs: [outDir],
  }))
}

/**
 * The built-in apps' sources: each folder of `apps/` whose `manifest.json` names a `.sol` file of
 * the folder as its `artifact`. Source units are named by their path in the repository
 * (`apps/escrow/Escrow.sol`); `chanvm/X.sol` is `contracts/src/X.sol`, anything else must lie in
 * the app's folder.
 */
function appSources(): Source[] {
  const out: Source[] = []
  for (const entry of readdirSync(appsDir, { withFileTypes: true })) {
    const folder = join(appsDir, entry.name)
    const manifestPath = join(folder, 'manifest.json')
    if (!entry.isDirectory() || !existsSync(manifestPath)) continue
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { artifact?: unknown }
    if (typeof manifest.artifact !== 'string' || !manifest.artifact.endsWith('.sol')) continue
    const p = inside(folder, resolve(folder, manifest.artifact))
    if (p === undefined || !existsSync(p)) {
      throw new Error(
        `contracts: ${relative(repo, manifestPath)} artifact: no Solidity file ${manifest.artifact} in the folder`,
      )
    }
    out.push({
      file: relative(repo, p),
      unit: relative(repo, p).split(sep).join('/'),
      fileOfUnit: (unit) =>
        unit.startsWith(CHANVM_PREFIX)
          ? inside(srcDir, resolve(srcDir, unit.slice(CHANVM_PREFIX.length)))
          : inside(folder, resolve(repo, unit)),
      outDirs: [join(folder, 'generated'), outDir],
    })
  }
  return out.sort((a, b) => a.file.localeCompare(b.file))
}

function cacheKey(deps: string[]): string {
  const h = createHash('sha256')
  h.update(solc.version())
  h.update(JSON.stringify(solcSettings))
  for (const d of [...deps].sort()) {
    h.update(d)
    h.update(readFileSync(join(repo, d)))
  }
  return h.digest('hex')
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    )
  }
  return v
}

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts?: Record<
    string,
    Record<
      string,
      { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
    >
  >
}

function compileOne(source: Source): { deps: string[]; outputs: string[] } {
  const deps = new Set<string>([source.file])
  const input = {
    language: 'Solidity',
    sources: { [source.unit]: { content: readFileSync(join(repo, source.file), 'utf8') } },
    settings: solcSettings,
  }
  const findImports = (unit: string) => {
    const full = source.fileOfUnit(unit)
    if (full === undefined || !existsSync(full)) return { error: `not found: ${unit}` }
    deps.add(relative(repo, full))
    return { contents: readFileSync(full, 'utf8') }
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  for (const w of (output.errors ?? []).filter((e) => e.severity !== 'error')) {
    process.stderr.write(w.formattedMessage)
  }
  if (errors.length > 0) {
    throw new Error(
      `solc: ${source.file} does not compile:\n${errors.map((e) => e.formattedMessage).join('\n')}`,
    )
  }
  const outputs: string[] = []
  for (const [name, c] of Object.entries(output.contracts?.[source.unit] ?? {})) {
    const abi = JSON.stringify(sortKeys(c.abi), null, 2)
    const text =
      `// Generated by contracts/build.ts from ${source.file} with solc ${solc.version()}. Do not edit.\n` +
      `export const ${name} = {\n` +
      `  contractName: '${name}',\n` +
      `  sourceFile: '${source.file}',\n` +
      `  abi: ${abi.replace(/\n/g, '\n  ')},\n` +
      `  bytecode: '0x${c.evm.bytecode.object}',\n` +
      `  deployedBytecode: '0x${c.evm.deployedBytecode.object}',\n` +
      `} as const\n`
    for (const dir of source.outDirs) {
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `${name}.ts`), text)
      outputs.push(relative(repo, join(dir, `${name}.ts`)))
    }
  }
  return { deps: [...deps].sort(), outputs }
}

function main(): void {
  mkdirSync(outDir, { recursive: true })
  const cache: Cache = existsSync(cachePath) ? (JSON.parse(readFileSync(cachePath, 'utf8')) as Cache) : {}
  const next: Cache = {}
  const sources = [...chanvmSources(), ...appSources()]
  let compiled = 0
  const failures: string[] = []
  for (const source of sources) {
    const prev = cache[source.file]
    const fresh =
      prev !== undefined &&
      Array.isArray(prev.outputs) &&
      prev.deps.every((d) => existsSync(join(repo, d))) &&
      prev.outputs.every((o) => existsSync(join(repo, o))) &&
      cacheKey(prev.deps) === prev.key
    if (fresh) {
      next[source.file] = prev
      continue
    }
    const started = Date.now()
    try {
      const { deps, outputs } = compileOne(source)
      next[source.file] = { key: cacheKey(deps), deps, outputs }
      compiled++
      process.stderr.write(
        `contracts: compiled ${source.file} (${outputs.join(', ') || 'no contracts'}) in ${Date.now() - started} ms\n`,
      )
    } catch (e) {
      failures.push((e as Error).message)
    }
  }
  writeFileSync(cachePath, JSON.stringify(next, null, 2) + '\n')
  if (failures.length > 0) {
    process.stderr.write(failures.join('\n\n') + '\n')
    process.exitCode = 1
    return
  }
  process.stderr.write(
    `contracts: ${sources.length} sources, ${compiled} compiled, ${sources.length - compiled} cached (solc ${solc.version()})\n`,
  )
}

main()
