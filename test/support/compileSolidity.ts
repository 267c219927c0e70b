// Compiling test-only contracts with the pinned solc (the npm package), the settings the build
// uses, imports resolved from contracts/src/; and writing a contract of the output in Foundry's
// artifact shape (out/<Name>.sol/<Name>.json), as a user's `forge build` would.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const SRC = fileURLToPath(new URL('../../contracts/src/', import.meta.url))

/** solc's standard JSON output (the parts the tests read). */
export type SolcOutput = {
  contracts: Record<string, Record<string, Record<string, unknown>>>
} & Record<string, unknown>

/**
 * solc's standard JSON output for `sources` (file name → Solidity text); a compile error fails the
 * calling test.
 *
 * @example
 * ```ts
 * const out = compileSolidity({ 'Tally.sol': readFileSync(TALLY, 'utf8') })
 * ```
 */
export function compileSolidity(sources: Record<string, string>): SolcOutput {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([f, content]) => [f, { content }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      viaIR: true,
      evmVersion: 'prague',
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: {
        '*': {
          '*': [
            'abi',
            'evm.bytecode.object',
            'evm.deployedBytecode.object',
            'evm.methodIdentifiers',
            'metadata',
          ],
        },
      },
    },
  }
  const out = JSON.parse(
    solc.compile(JSON.stringify(input), {
      import: (path: string) => ({ contents: readFileSync(join(SRC, path), 'utf8') }),
    }),
  ) as { errors?: { severity: string; formattedMessage: string }[] } & SolcOutput
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  assert.deepEqual(
    errors.map((e) => e.formattedMessage),
    [],
  )
  return out
}

/**
 * Writes contract `name` of `file` in `out` as Foundry writes it, `<dir>/out/<file>/<name>.json`,
 * and returns the path.
 *
 * @example
 * ```ts
 * const path = writeFoundryArtifact(dir, out, 'Tally.sol', 'Tally') // <dir>/out/Tally.sol/Tally.json
 * ```
 */
export function writeFoundryArtifact(dir: string, out: SolcOutput, file: string, name: string): string {
  const c = out.contracts[file]?.[name]
  assert(c !== undefined, `no ${file}:${name} in the solc output`)
  const evm = c['evm'] as {
    bytecode: { object: string }
    deployedBytecode: { object: string }
    methodIdentifiers: Record<string, string>
  }
  mkdirSync(join(dir, 'out', file), { recursive: true })
  const path = join(dir, 'out', file, `${name}.json`)
  writeFileSync(
    path,
    JSON.stringify({
      abi: c['abi'],
      bytecode: { object: `0x${evm.bytecode.object}` },
      deployedBytecode: { object: `0x${evm.deployedBytecode.object}` },
      methodIdentifiers: evm.methodIdentifiers,
      metadata: JSON.parse(c['metadata'] as string) as unknown,
    }),
  )
  return path
}
