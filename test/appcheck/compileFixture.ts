// Compiles a Solidity file written for the tests (outside apps/) with the pinned solc and the
// project's compiler settings, as an app author would with their own toolchain.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import solc from 'solc'
import type { Abi, Hex } from 'viem'

/** A compiled contract: what `chanvm app check` needs of an artifact. */
export type CompiledContract = { contractName: string; abi: Abi; bytecode: Hex; deployedBytecode: Hex }

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts?: Record<
    string,
    Record<string, { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >
}

const settings = {
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  evmVersion: 'prague',
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
}

/** Compiles `path`; returns its contracts by name, and solc's standard JSON output as text. */
export function compileFixture(path: string): {
  contracts: Record<string, CompiledContract>
  standardJson: string
} {
  const file = basename(path)
  const input = {
    language: 'Solidity',
    sources: { [file]: { content: readFileSync(path, 'utf8') } },
    settings,
  }
  const standardJson = solc.compile(JSON.stringify(input))
  const out = JSON.parse(standardJson) as SolcOutput
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const contracts: Record<string, CompiledContract> = {}
  for (const [name, c] of Object.entries(out.contracts?.[file] ?? {})) {
    contracts[name] = {
      contractName: name,
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    }
  }
  return { contracts, standardJson }
}
