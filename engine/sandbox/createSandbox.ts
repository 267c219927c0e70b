import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createEVM, getOpcodesForHF, paramsEVM, type EVM } from '@ethereumjs/evm'
import {
  Account,
  createAddressFromString,
  createZeroAddress,
  type Address as EvmAddress,
} from '@ethereumjs/util'
import { hexToBytes, keccak256, type Address, type Hex } from 'viem'
import { ChanvmError } from '../errors.ts'
import { secp256k1Backend } from '../crypto/secp256k1Backend.ts'
import type { Env } from '../channel/types.ts'
import { cacheJumpAnalysis } from './cacheJumpAnalysis.ts'
import { installInlineOpcodes, runOpcodesInline } from './runOpcodesInline.ts'
import { wordOpcodes } from './wordOpcodes.ts'

/** Limits applied to every call the sandbox runs. */
export type SandboxLimits = {
  /** Gas available to the call. Default 5,000,000. */
  gasCap: bigint
  /** Wall-clock budget of one call, in milliseconds. Default 1,000. */
  timeCapMs: number
  /** Largest calldata accepted, in bytes. Default 128 KiB. */
  maxCalldataBytes: number
  /** Largest returndata accepted, in bytes. Default 64 KiB. */
  maxReturndataBytes: number
}

export const defaultSandboxLimits: SandboxLimits = {
  gasCap: 5_000_000n,
  timeCapMs: 1_000,
  maxCalldataBytes: 128 * 1024,
  maxReturndataBytes: 64 * 1024,
}

/** Why the sandbox rejected a call. */
export type SandboxFailure =
  | 'revert'
  | 'out-of-gas'
  | 'invalid-opcode'
  | 'state-write'
  | 'evm-error'
  | 'time-cap'
  | 'calldata-cap'
  | 'returndata-cap'
  | 'code-hash-mismatch'
  | 'no-code'

export type StaticCallResult =
  | { ok: true; returnData: Hex; gasUsed: bigint }
  | {
      ok: false
      failure: SandboxFailure
      /** One line a person can read: the decoded revert, the broken cap, the EVM error. */
      message: string
      gasUsed: bigint
      /** Raw revert data, when the call reverted. */
      revertData?: Hex
      /** An address the code called that has no code in the sandbox, if any. */
      externalCall?: Address
    }

/** {@link StaticCallResult} with the return data as bytes. */
export type StaticCallBytesResult =
  { ok: true; returnBytes: Uint8Array; gasUsed: bigint } | Extract<StaticCallResult, { ok: false }>

export type StaticCallRequest = {
  /** Where the code lives; the call goes there. */
  address: Address
  /** Runtime bytecode placed at `address`, the only code in the world. */
  code: Hex
  /** When given, `keccak256(code)` must equal it or the call is refused. */
  codeHash?: Hex
  data: Hex
  env: Env
}

/**
 * A sandboxed EVM: each call is a STATICCALL into a world that holds one contract's runtime code
 * and the precompiles, nothing else. No host clock (time comes from `env`), no network, no file
 * system, no randomness. Every failure (revert, out-of-gas, invalid opcode, a state write, a broken
 * cap) is a result with a reason; the sandbox never throws for what the code does.
 */
export type Sandbox = {
  readonly limits: SandboxLimits
  /** Runs one static call. Calls are serialized: the EVM is single-threaded. */
  staticCall(request: StaticCallRequest): Promise<StaticCallResult>
  /**
   * {@link Sandbox.staticCall} with the calldata and the return data as bytes, for a caller that
   * has them as bytes or wants them so (no hex in between). `data` must not change until the call
   * resolves. A sandbox without it is called through `staticCall`.
   */
  staticCallBytes?(request: StaticCallBytesRequest): Promise<StaticCallBytesResult>
}

/** {@link StaticCallRequest} with the calldata as bytes. */
export type StaticCallBytesRequest = Omit<StaticCallRequest, 'data'> & { data: Uint8Array }

/**
 * An EVM address whose hex is made once: the state manager keys accounts by `toString()` on every
 * read and write, about ten times per call for the caller and the callee. The EVM never changes an
 * address's bytes, so the hex stays what the stock `toString` would give.
 */
function fixedAddress(hex: string): EvmAddress {
  const address = createAddressFromString(hex as `0x${string}`)
  const text = address.toString()
  address.toString = () => text
  return address
}

const CALLER = fixedAddress('0x000000000000000000000000000000000000c0de')

class TimeCapExceeded extends Error {}

// Buffer's hex decoder reads only the low byte of each character ('\u0131' as '1'): every
// character is checked first, so text that is not hex is refused as viem's `hexToBytes` refuses it.
const EVEN_HEX = /^0x(?:[0-9a-fA-F]{2})*$/
/** viem's `hexToBytes`, through Buffer's hex decoder when the string is plain even-length hex. */
const toBytes = (hex: Hex): Uint8Array =>
  EVEN_HEX.test(hex) ? new Uint8Array(Buffer.from(hex.slice(2), 'hex')) : hexToBytes(hex)
/** viem's `bytesToHex` (lowercase), through Buffer's hex encoder. */
const toHex = (bytes: Uint8Array): Hex =>
  `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`

/** ecrecover for the EVM's precompile, on the backend in use (native libsecp256k1 when it loads). */
function sandboxEcrecover(msgHash: Uint8Array, v: bigint, r: Uint8Array, s: Uint8Array): Uint8Array {
  const compact = new Uint8Array(64)
  compact.set(r.length === 32 ? r : r.slice(-32), 32 - Math.min(32, r.length))
  compact.set(s.length === 32 ? s : s.slice(-32), 64 - Math.min(32, s.length))
  const pub = secp256k1Backend.recover(msgHash, compact, Number(v - 27n))
  if (pub === undefined) throw new Error('ecrecover: invalid signature')
  return pub.subarray(1)
}

/**
 * Creates a sandbox. One sandbox runs one call at a time; create one per worker for parallelism.
 *
 * @example
 * ```ts
 * const sandbox = await createSandbox({ gasCap: 1_000_000n })
 * const r = await sandbox.staticCall({ address, code, data, env: { blockNumber: 1n, timestamp: 1n } })
 * if (!r.ok) console.log(r.failure, r.message)
 * ```
 */
export async function createSandbox(limits: Partial<SandboxLimits> = {}): Promise<Sandbox> {
  const lim: SandboxLimits = { ...defaultSandboxLimits, ...limits }
  if (lim.gasCap <= 0n) throw new ChanvmError('INVALID_ARGUMENT', 'sandbox gasCap must be positive')
  if (!(lim.timeCapMs > 0)) throw new ChanvmError('INVALID_ARGUMENT', 'sandbox timeCapMs must be positive')

  await cacheJumpAnalysis()
  const inlineOpcodes = await installInlineOpcodes()
  const common = new Common({
    chain: Mainnet,
    hardfork: Hardfork.Osaka,
    params: paramsEVM,
    customCrypto: { ecrecover: sandboxEcrecover },
  })
  // The interpreter asks `isActivatedEIP` several times per opcode, and Common answers with a
  // linear search of an array. The hardfork never changes here, so answer from a Set.
  const activated = (common as unknown as { _activatedEIPsCache?: unknown })._activatedEIPsCache
  if (Array.isArray(activated)) {
    const eips = new Set<number>(activated as number[])
    common.isActivatedEIP = (eip: number) => eips.has(eip)
  }
  // The memory gas of every growing MLOAD/MSTORE and many gas functions read parameters, each read
  // a conversion to bigint; for the fixed hardfork each name has one value, converted once.
  const params = new Map<string, bigint>()
  const stockParam = common.param.bind(common)
  common.param = (name: string) => {
    let value = params.get(name)
    if (value === undefined) params.set(name, (value = stockParam(name)))
    return value
  }

  // Every loop in EVM code goes through JUMP or JUMPI, so checking the clock there (every 256
  // jumps) bounds the wall time of a call; single expensive operations are bounded by gas.
  let deadline = Number.POSITIVE_INFINITY
  let jumps = 0
  const forks = getOpcodesForHF(common)
  const base = forks.handlers
  const timed = (op: number) => {
    const handler = base.get(op)
    if (handler === undefined) throw new Error(`no handler for opcode ${op}`)
    return {
      opcode: op,
      opcodeName: op === 0x56 ? 'JUMP' : 'JUMPI',
      baseFee: Number(common.param(op === 0x56 ? 'jumpGas' : 'jumpiGas')),
      logicFunction: (runState: Parameters<typeof handler>[0], c: Common) => {
        if ((++jumps & 0xff) === 0 && performance.now() > deadline) throw new TimeCapExceeded()
        return handler(runState, c)
      },
    }
  }
  const words = wordOpcodes(common, forks)
  // Opcodes given as custom are awaited by the interpreter; these are synchronous.
  const syncCustom = [0x35, 0x51, 0x52, 0x56, 0x57]

  let evm: EVM
  let externalCall: Address | undefined
  let currentAddress: string | undefined
  const build = async () => {
    evm = await createEVM({ common, customOpcodes: [timed(0x56), timed(0x57), ...words] })
    if (inlineOpcodes) runOpcodesInline(evm)
    const map = (evm as unknown as { _opcodeMap?: ({ opcodeInfo: object } | undefined)[] })._opcodeMap
    for (const op of syncCustom) {
      const entry = map?.[op]
      if (map !== undefined && entry !== undefined)
        map[op] = {
          ...entry,
          opcodeInfo: Object.freeze(
            Object.assign(
              Object.create(Object.getPrototypeOf(entry.opcodeInfo) as object),
              entry.opcodeInfo,
              {
                isAsync: false,
              },
            ),
          ),
        }
    }
    // One parameter: the EVM calls it and goes on, where a listener that takes `resolve` costs a
    // promise awaited per message.
    evm.events.on('beforeMessage', (msg) => {
      if (msg.depth > 0 && msg.to !== undefined) {
        const to = msg.to.toString().toLowerCase()
        const n = BigInt(to)
        // precompiles 0x01..0x11 and 0x100 exist in the sandbox; everything else has no code
        if (to !== currentAddress && !(n >= 1n && n <= 0x11n) && n !== 0x100n) externalCall ??= to as Address
      }
    })
  }
  await build()

  let queue: Promise<unknown> = Promise.resolve()
  const loaded = new Map<string, string>() // address -> code hash currently installed
  const codeCache = new Map<Hex, { bytes: Uint8Array; hash: Hex }>()
  let target: { key: string; address: EvmAddress } | undefined
  // The block every call runs in: its number and time are the request's env, the rest is fixed.
  const header = {
    number: 0n,
    coinbase: createZeroAddress(),
    timestamp: 0n,
    difficulty: 0n,
    prevRandao: new Uint8Array(32),
    gasLimit: lim.gasCap,
    baseFeePerGas: 0n,
    slotNumber: 0n,
    getBlobGasPrice: () => 0n,
  }
  const block = { header }

  const run = async (req: StaticCallRequest): Promise<StaticCallResult> => {
    const r = await runBytes(req, toBytes(req.data))
    return r.ok ? { ok: true, returnData: toHex(r.returnBytes), gasUsed: r.gasUsed } : r
  }

  const runBytes = async (
    req: Omit<StaticCallRequest, 'data'>,
    data: Uint8Array,
  ): Promise<StaticCallBytesResult> => {
    if (data.length > lim.maxCalldataBytes) {
      return {
        ok: false,
        failure: 'calldata-cap',
        message: `calldata of ${data.length} bytes exceeds the cap of ${lim.maxCalldataBytes}`,
        gasUsed: 0n,
      }
    }
    let code = codeCache.get(req.code)
    if (code === undefined) {
      const bytes = hexToBytes(req.code)
      code = { bytes, hash: keccak256(bytes) }
      if (codeCache.size > 64) codeCache.clear()
      codeCache.set(req.code, code)
    }
    const { bytes: codeBytes, hash: codeHash } = code
    if (codeBytes.length === 0)
      return { ok: false, failure: 'no-code', message: `no code given for ${req.address}`, gasUsed: 0n }
    if (req.codeHash !== undefined && codeHash.toLowerCase() !== req.codeHash.toLowerCase()) {
      return {
        ok: false,
        failure: 'code-hash-mismatch',
        message: `code hash ${codeHash} is not the expected ${req.codeHash}`,
        gasUsed: 0n,
      }
    }
    const key = req.address.toLowerCase()
    if (target?.key !== key) target = { key, address: fixedAddress(key) }
    const to = target.address
    if (loaded.get(key) !== codeHash) {
      // The world holds exactly one contract: clear whatever was there before.
      for (const addr of loaded.keys()) {
        await evm.stateManager.deleteAccount(createAddressFromString(addr as `0x${string}`))
      }
      loaded.clear()
      await evm.stateManager.putAccount(to, new Account())
      await evm.stateManager.putCode(to, codeBytes)
      loaded.set(key, codeHash)
    }
    externalCall = undefined
    currentAddress = key
    jumps = 0
    deadline = performance.now() + lim.timeCapMs
    header.number = req.env.blockNumber
    header.timestamp = req.env.timestamp
    let result
    try {
      result = await evm.runCall({
        caller: CALLER,
        to,
        data,
        gasLimit: lim.gasCap,
        isStatic: true,
        skipNonceIncrement: true,
        skipBalance: true,
        block: block as never,
      })
    } catch (e) {
      // An aborted call can leave the journal mid-checkpoint: start from a fresh EVM.
      loaded.clear()
      await build()
      if (e instanceof TimeCapExceeded) {
        return {
          ok: false,
          failure: 'time-cap',
          message: `call ran longer than the wall-clock cap of ${lim.timeCapMs} ms`,
          gasUsed: 0n,
        }
      }
      return { ok: false, failure: 'evm-error', message: `EVM failed: ${(e as Error).message}`, gasUsed: 0n }
    } finally {
      deadline = Number.POSITIVE_INFINITY
    }
    await evm.journal.cleanup()
    const exec = result.execResult
    const gasUsed = exec.executionGasUsed
    const ret = exec.returnValue
    const extra = externalCall === undefined ? {} : { externalCall }
    if (exec.exceptionError !== undefined) {
      const err = exec.exceptionError.error
      if (err === 'revert') {
        const revertData = toHex(ret)
        const suffix =
          externalCall !== undefined ? ` (it called ${externalCall}, which has no code in the sandbox)` : ''
        return {
          ok: false,
          failure: 'revert',
          message: `reverted${ret.length === 0 ? ' without data' : ''}${suffix}`,
          gasUsed,
          revertData,
          ...extra,
        }
      }
      if (err === 'out of gas')
        return {
          ok: false,
          failure: 'out-of-gas',
          message: `out of gas (cap ${lim.gasCap})`,
          gasUsed,
          ...extra,
        }
      if (err === 'static state change')
        return {
          ok: false,
          failure: 'state-write',
          message: 'the code tried to write state in a static call',
          gasUsed,
          ...extra,
        }
      if (err === 'invalid opcode')
        return { ok: false, failure: 'invalid-opcode', message: 'invalid opcode', gasUsed, ...extra }
      return { ok: false, failure: 'evm-error', message: `EVM error: ${err}`, gasUsed, ...extra }
    }
    if (ret.length > lim.maxReturndataBytes) {
      return {
        ok: false,
        failure: 'returndata-cap',
        message: `returndata of ${ret.length} bytes exceeds the cap of ${lim.maxReturndataBytes}`,
        gasUsed,
        ...extra,
      }
    }
    return { ok: true, returnBytes: ret, gasUsed }
  }

  return {
    limits: lim,
    staticCall(request) {
      const p = queue.then(() => run(request))
      queue = p.catch(() => undefined)
      return p
    },
    staticCallBytes(request) {
      const p = queue.then(() => runBytes(request, request.data))
      queue = p.catch(() => undefined)
      return p
    },
  }
}
