import { getAbiItem, keccak256, toFunctionSelector, type Abi, type AbiFunction, type Hex } from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppArtifact } from '../types.ts'

/** The selector every app's `transition` has (IApp). */
const TRANSITION_SELECTOR = toFunctionSelector(getAbiItem({ abi: IApp.abi, name: 'transition' }))

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

const hexOf = (v: unknown): Hex | undefined => {
  if (typeof v !== 'string') return undefined
  const h = v.startsWith('0x') ? v : `0x${v}`
  return /^0x([0-9a-fA-F]{2})+$/.test(h) ? (h.toLowerCase() as Hex) : undefined
}

/**
 * The app artifact in `json`, the parsed contents of a compiled contract: a Foundry artifact
 * (`out/<Name>.sol/<Name>.json`: `abi`, `bytecode.object`, `deployedBytecode.object`) or the
 * standard JSON output of solc (`contracts[file][name]`, with `contract` naming it as `Name` or
 * `file:Name` when there is more than one). It must implement IApp: a `transition` function with
 * IApp's selector. Anything else is `CONFIG`, naming `source` and what is wrong.
 *
 * @example
 * ```ts
 * const artifact = artifactFromJson(JSON.parse(readFileSync(path, 'utf8')), { source: path })
 * artifact.codeHash // keccak256 of the runtime code
 * ```
 */
export function artifactFromJson(json: unknown, opts: { source: string; contract?: string }): AppArtifact {
  const bad = (why: string) => new ChanvmError('CONFIG', `artifact ${opts.source}: ${why}`)
  if (!isObject(json)) throw bad('not a JSON object')
  let name: string
  let abi: unknown
  let bytecode: unknown
  let deployed: unknown
  if (isObject(json['contracts'])) {
    const found: { file: string; name: string; c: Json }[] = []
    for (const [file, byName] of Object.entries(json['contracts']))
      if (isObject(byName))
        for (const [n, c] of Object.entries(byName)) if (isObject(c)) found.push({ file, name: n, c })
    const want = opts.contract
    const matches =
      want === undefined ? found : found.filter((f) => f.name === want || `${f.file}:${f.name}` === want)
    const list = found.map((f) => `${f.file}:${f.name}`).join(', ')
    if (matches.length === 0)
      throw bad(
        want === undefined
          ? 'the solc output holds no contract'
          : `no contract ${want} in it (it has ${list})`,
      )
    if (matches.length > 1) throw bad(`it holds several contracts (${list}): name one with "contract"`)
    const m = matches[0]!
    name = m.name
    abi = m.c['abi']
    const evm = isObject(m.c['evm']) ? m.c['evm'] : {}
    bytecode = isObject(evm['bytecode']) ? evm['bytecode']['object'] : undefined
    deployed = isObject(evm['deployedBytecode']) ? evm['deployedBytecode']['object'] : undefined
  } else if (Array.isArray(json['abi']) && isObject(json['bytecode'])) {
    name = opts.contract ?? contractNameOf(json, opts.source)
    abi = json['abi']
    bytecode = json['bytecode']['object']
    deployed = isObject(json['deployedBytecode']) ? json['deployedBytecode']['object'] : undefined
  } else {
    throw bad('neither a solc standard JSON output (contracts) nor a Foundry artifact (abi, bytecode.object)')
  }
  if (!Array.isArray(abi)) throw bad(`${name} has no ABI (solc outputSelection must include abi)`)
  const code = hexOf(bytecode)
  const runtime = hexOf(deployed)
  if (code === undefined || runtime === undefined)
    throw bad(
      `${name} has no bytecode or no runtime bytecode (an interface or abstract contract, or a solc output without evm.bytecode.object and evm.deployedBytecode.object)`,
    )
  if (/__\$[0-9a-fA-F]{34}\$__/.test(String(bytecode)))
    throw bad(`${name} needs libraries linked; link them before loading it`)
  const transition = (abi as Abi).find(
    (item): item is AbiFunction => item.type === 'function' && item.name === 'transition',
  )
  let selector: Hex | undefined
  try {
    selector = transition === undefined ? undefined : toFunctionSelector(transition)
  } catch {
    throw bad(`${name} has a malformed transition in its ABI`)
  }
  if (selector !== TRANSITION_SELECTOR)
    throw bad(
      `${name} does not implement IApp: no transition(ChannelParams,State,uint256,bytes,Env) with selector ${TRANSITION_SELECTOR}`,
    )
  return {
    contractName: name,
    abi: abi as Abi,
    bytecode: code,
    deployedBytecode: runtime,
    codeHash: keccak256(runtime),
  }
}

/** A Foundry artifact's contract name: its metadata's compilation target, else the file's name. */
function contractNameOf(json: Json, source: string): string {
  const metadata = typeof json['metadata'] === 'string' ? safeParseJson(json['metadata']) : json['metadata']
  if (
    isObject(metadata) &&
    isObject(metadata['settings']) &&
    isObject(metadata['settings']['compilationTarget'])
  ) {
    const target = Object.values(metadata['settings']['compilationTarget'])[0]
    if (typeof target === 'string') return target
  }
  return (source.split(/[\\/]/).pop() ?? source).replace(/\.json$/, '')
}

function safeParseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
