// Compiles Metered.sol with solc (the npm package chanvm pins) into out/Metered.json, solc's
// standard JSON output: the artifact the manifest names. An app author would run their own
// toolchain (solc, Foundry) the same way; chanvm's Solidity (IApp, the channel types, the
// oracle-message verifier) is imported as "chanvm/...".
//
//   npx tsx examples/metered/buildMetered.ts
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const here = dirname(fileURLToPath(import.meta.url))
const chanvmSol = resolve(here, '..', '..', 'contracts', 'src')

/** The compiler settings of the example: chanvm's own (optimizer, via-IR, prague, no metadata hash). */
const settings = {
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  evmVersion: 'prague',
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
}

/**
 * Compiles `examples/metered/Metered.sol` into `examples/metered/out/Metered.json` unless that file
 * is newer than the source; returns its path. Throws with solc's messages when it does not compile.
 *
 * @example
 * ```ts
 * const artifact = buildMetered() // .../examples/metered/out/Metered.json
 * ```
 */
export function buildMetered(opts: { force?: boolean } = {}): string {
  const source = join(here, 'Metered.sol')
  const out = join(here, 'out', 'Metered.json')
  if (opts.force !== true && existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) return out
  const input = {
    language: 'Solidity',
    sources: { 'Metered.sol': { content: readFileSync(source, 'utf8') } },
    settings,
  }
  const findImports = (path: string) => {
    if (!path.startsWith('chanvm/')) return { error: `not found: ${path}` }
    const full = resolve(chanvmSol, path.slice('chanvm/'.length))
    if (!full.startsWith(chanvmSol) || !existsSync(full)) return { error: `not found: ${path}` }
    return { contents: readFileSync(full, 'utf8') }
  }
  const output = solc.compile(JSON.stringify(input), { import: findImports })
  const errors = (
    (JSON.parse(output) as { errors?: { severity: string; formattedMessage: string }[] }).errors ?? []
  )
    .filter((e) => e.severity === 'error')
    .map((e) => e.formattedMessage)
  if (errors.length > 0) throw new Error(`Metered.sol does not compile:\n${errors.join('\n')}`)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, output)
  return out
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(buildMetered({ force: true }))
}
