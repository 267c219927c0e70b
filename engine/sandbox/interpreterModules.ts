// The parts of `@ethereumjs/evm`'s interpreter that the inline loop (runOpcodesInline.ts) uses, as
// the package's own modules hold them, and the shapes it relies on: loaded only for the release the
// loop follows, and only when every part is what it expects.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Common } from '@ethereumjs/common'

export type OpcodeInfo = {
  code: number
  feeBigInt: bigint
  dynamicGas: boolean
  isAsync: boolean
  isInvalid: boolean
}
export type GasHandler = (runState: RunState, gas: bigint, common: Common) => bigint | Promise<bigint>
export type OpEntry = {
  opcodeInfo: OpcodeInfo
  opHandler: (runState: RunState, common: Common) => unknown
  gasHandler: GasHandler
}
export type RunState = {
  code: Uint8Array
  programCounter: number
  opCode: number
  gasLeft: bigint
  validJumps: Uint8Array
  cachedPushes: Record<number, bigint>
  shouldDoJumpAnalysis: boolean
  memoryWordCount: bigint
  stack: { peek(n?: number): bigint[] }
  env: { accessWitness?: { commit(): void; revert(): void }; chargeCodeAccesses?: boolean }
  eip8037BurnLeftoverAfterCreateHaltOntoAlive?: boolean
  eip7928PostTargetCallOog?: unknown
}
export type Interpreter = {
  _evm: object & { DEBUG: boolean; events: { listenerCount(event: string): number } }
  _runState: RunState
  common: Common
  profilerOpts?: { enabled?: boolean }
  _getValidJumpDestinations(code: Uint8Array): {
    jumps: Uint8Array
    pushes: Record<number, bigint>
    opcodesCached: OpEntry[]
  }
  lookupOpInfo(op: number): OpEntry
  useGas(amount: bigint, context: OpcodeInfo): void
  runStep(entry: OpEntry | undefined): Promise<void>
  run(code: Uint8Array, opts?: { pc?: number }): Promise<unknown>
}
export type Modules = {
  proto: Interpreter
  subMemUsage: (runState: RunState, offset: bigint, length: bigint, common: Common) => bigint
  consumePostTargetCallOog: (runState: RunState) => void
  gasHandlers: Map<number, GasHandler>
  /** The stock opcode handlers, by opcode. */
  opHandlers: Map<number, unknown>
  /** The interpreter's error class: `new EVMError(message)`. */
  EVMError: new (message: string) => { error: string }
  /** The interpreter class the EVM instantiates for each call. */
  Interpreter: new (...args: unknown[]) => Interpreter & {
    _env: object
    _result: { selfdestruct?: unknown; createdAddresses?: unknown; returnValue?: Uint8Array }
  }
}

export const EOF_FORMAT = 0xef
export const OUT_OF_GAS = 'out of gas'
export const INVALID_OPCODE = 'invalid opcode'
export const STOP = 'stop'
export const REVERT = 'revert'
export const INVALID_EOF_FORMAT = 'invalid EOF format'
export const EVM_ERROR = 'EVMError'

/**
 * The `@ethereumjs/evm` release whose interpreter step the inline loop follows. Another release
 * takes the stock path: a check or charge added between its gas function and `useGas` would
 * otherwise make the sandbox differ from the chain without a sign.
 */
export const INLINE_EVM_VERSION = '10.1.3'

/** Loads the interpreter's own modules (the ones `@ethereumjs/evm` runs), or undefined if they are not there. */
export async function loadInterpreterModules(): Promise<Modules | undefined> {
  const require = createRequire(import.meta.url)
  const dist = join(dirname(require.resolve('@ethereumjs/evm')), '..')
  const { version } = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
    version?: unknown
  }
  if (version !== INLINE_EVM_VERSION) return undefined
  const esm = join(dist, 'esm')
  const at = (file: string) => import(pathToFileURL(join(esm, file)).href) as Promise<Record<string, unknown>>
  const [interp, util, eip7928, gas, errors, functions] = await Promise.all([
    at('interpreter.js'),
    at('opcodes/util.js'),
    at('opcodes/EIP7928.js'),
    at('opcodes/gas.js'),
    at('errors.js'),
    at('opcodes/functions.js'),
  ])
  const proto = (interp.Interpreter as { prototype?: Interpreter } | undefined)?.prototype
  const subMemUsage = util.subMemUsage as Modules['subMemUsage'] | undefined
  const consumePostTargetCallOog = eip7928.consumeEip7928PostTargetCallOog as
    Modules['consumePostTargetCallOog'] | undefined
  const gasHandlers = gas.dynamicGasHandlers as Map<number, GasHandler> | undefined
  const EVMError = errors.EVMError as Modules['EVMError'] | undefined
  const opHandlers = functions.handlers as Map<number, unknown> | undefined
  if (
    typeof proto?.run !== 'function' ||
    typeof proto.runStep !== 'function' ||
    typeof subMemUsage !== 'function' ||
    typeof consumePostTargetCallOog !== 'function' ||
    !(gasHandlers instanceof Map) ||
    !(opHandlers instanceof Map) ||
    typeof EVMError !== 'function' ||
    errors.EVMErrorTypeString !== EVM_ERROR ||
    typeof interp.Interpreter !== 'function'
  )
    return undefined
  const messages = (EVMError as unknown as { errorMessages?: Record<string, string> }).errorMessages
  if (
    messages?.REVERT !== REVERT ||
    messages.INVALID_EOF_FORMAT !== INVALID_EOF_FORMAT ||
    messages.OUT_OF_GAS !== OUT_OF_GAS ||
    messages.INVALID_OPCODE !== INVALID_OPCODE ||
    messages.STOP !== STOP ||
    messages.STACK_UNDERFLOW !== 'stack underflow' ||
    messages.STACK_OVERFLOW !== 'stack overflow'
  )
    return undefined
  return {
    proto,
    subMemUsage,
    consumePostTargetCallOog,
    gasHandlers,
    opHandlers,
    EVMError,
    Interpreter: interp.Interpreter as Modules['Interpreter'],
  }
}
