import { Account, createZeroAddress } from '@ethereumjs/util'
import { leanExecuteCall } from './leanExecuteCall.ts'
import { stackRun, stockStackHandlers } from './stackOpcodes.ts'
import {
  loadInterpreterModules,
  INLINE_EVM_VERSION,
  EOF_FORMAT,
  OUT_OF_GAS,
  INVALID_OPCODE,
  STOP,
  REVERT,
  INVALID_EOF_FORMAT,
  EVM_ERROR,
  type GasHandler,
  type OpEntry,
  type RunState,
  type Interpreter,
  type Modules,
} from './interpreterModules.ts'

export { INLINE_EVM_VERSION }

/** Memory offsets up to which the loop reckons memory growth in numbers. */
const SMALL_OFFSET = 1n << 32n

/** The EVMs whose calls run their opcodes inline. */
const inline = new WeakSet<object>()
let installed: Promise<boolean> | undefined
let modules: Modules | undefined

/**
 * `@ethereumjs/evm` runs every opcode as an awaited async step, and awaits every dynamic gas
 * function, though almost all of them compute synchronously: two promises and microtask turns per
 * opcode, most of a sandbox call's time. For the EVMs given to {@link runOpcodesInline} this runs
 * legacy code's opcodes in a plain loop instead: an opcode whose handler the interpreter marks
 * async is awaited when it returns a promise, and one whose gas function is async (storage,
 * calls, external code) takes the interpreter's own step, awaited. The gas of MLOAD, MSTORE,
 * MSTORE8, KECCAK256, CALLDATACOPY, MCOPY, RETURN and REVERT is computed as the stock functions
 * compute it, with the interpreter's own `subMemUsage`, synchronously. Once the code's jumps are
 * analysed, the opcodes that only work the stack (arithmetic, comparisons, PUSH, DUP, SWAP...) run
 * in the loop itself, on the stack's array ({@link stackOpcodes}), about four in five opcodes of a
 * compiled app. Every check, charge and state change is the interpreter's, in its order; only the
 * turns of the microtask queue and the calls are gone. EOF code, the profiler, `step` listeners,
 * DEBUG and code-chunk charging (EIP-6800, EIP-7864) take the stock path. Other EVMs in the process
 * are untouched. Resolves to false (and changes nothing) when the interpreter's modules are not the
 * expected ones.
 */
export function installInlineOpcodes(): Promise<boolean> {
  installed ??= (async () => {
    try {
      const m = await loadInterpreterModules()
      if (m === undefined) return false
      patch(m)
      modules = m
      return true
    } catch {
      return false
    }
  })()
  return installed
}

/**
 * Makes the calls of `evm` run their opcodes inline (after {@link installInlineOpcodes} resolved
 * true), and gives `evm` a `runInterpreter` that is the stock one but for how it puts together the
 * `runState` it returns: the stock one spreads three objects into one literal (`{ ...a, ...b,
 * ...c }`), which V8 runs on a slow path, about 0.1 ms per call; this one copies the same
 * properties in the same order with `Object.assign`. Its `_executeCall` hands the message on the
 * same way ({@link leanExecuteCall}).
 */
export function runOpcodesInline(evm: object): void {
  inline.add(evm)
  if (modules === undefined) return
  leanRunInterpreter(evm as LeanEvm, modules)
  leanExecuteCall(evm)
}

type Message = {
  to?: unknown
  caller?: unknown
  data?: Uint8Array
  value?: bigint
  code?: Uint8Array
  isStatic?: boolean
  isCreate?: boolean
  depth?: number
  codeAddress?: unknown
  gasRefund?: bigint
  chargeCodeAccesses?: boolean
  blobVersionedHashes?: unknown[]
  accessWitness?: { commit(): void }
  createdAddresses?: unknown
  selfdestruct?: unknown
  gasLimit: bigint
}
type RunResult = {
  runState: { gasLeft: bigint; gasRefund: bigint; stateGasSpilled?: bigint }
  exceptionError?: { error: string }
}
type LeanEvm = {
  runInterpreter(message: Message, opts?: { initialLogs?: unknown }): Promise<unknown>
  stateManager: { getAccount(address: unknown): Promise<unknown> }
  blockchain: unknown
  journal: unknown
  performanceLogger: unknown
  _optsCached: { profiler?: unknown }
  _tx: { gasPrice: bigint; origin?: unknown }
  _block?: unknown
}

function leanRunInterpreter(evm: LeanEvm, { Interpreter }: Modules): void {
  const stock = evm.runInterpreter
  evm.runInterpreter = async function (
    this: LeanEvm,
    message: Message,
    opts: { initialLogs?: unknown } = {},
  ) {
    // Without a block the stock method makes its default one; that case keeps the stock method.
    if (this._block === undefined) return stock.call(this, message, opts)
    let contract = await this.stateManager.getAccount(message.to ?? createZeroAddress())
    if (!contract) contract = new Account()
    const env = {
      address: message.to ?? createZeroAddress(),
      caller: message.caller ?? createZeroAddress(),
      callData: message.data ?? Uint8Array.from([0]),
      callValue: message.value ?? 0n,
      code: message.code,
      isStatic: message.isStatic ?? false,
      isCreate: message.isCreate ?? false,
      depth: message.depth ?? 0,
      gasPrice: this._tx.gasPrice,
      origin: this._tx.origin ?? message.caller ?? createZeroAddress(),
      block: this._block,
      contract,
      codeAddress: message.codeAddress,
      gasRefund: message.gasRefund,
      chargeCodeAccesses: message.chargeCodeAccesses,
      blobVersionedHashes: message.blobVersionedHashes ?? [],
      accessWitness: message.accessWitness,
      createdAddresses: message.createdAddresses,
      initialLogs: opts.initialLogs,
    }
    const interpreter = new Interpreter(
      this,
      this.stateManager,
      this.blockchain,
      env,
      message.gasLimit,
      this.journal,
      this.performanceLogger,
      this._optsCached.profiler,
    )
    if (message.selfdestruct) interpreter._result.selfdestruct = message.selfdestruct
    if (message.createdAddresses) interpreter._result.createdAddresses = message.createdAddresses
    const interpreterRes = (await interpreter.run(
      message.code as Uint8Array,
      opts as { pc?: number },
    )) as RunResult
    let result: object & { returnValue?: Uint8Array } = interpreter._result
    let gasUsed = message.gasLimit - interpreterRes.runState.gasLeft
    if (interpreterRes.exceptionError) {
      const error = interpreterRes.exceptionError.error
      if (error !== REVERT && error !== INVALID_EOF_FORMAT) gasUsed = message.gasLimit
      // Clear the result on error
      result = Object.assign({}, result, { logs: [], selfdestruct: new Map(), createdAddresses: new Set() })
    }
    message.accessWitness?.commit()
    return Object.assign({}, result, {
      runState: Object.assign({}, interpreterRes.runState, result, interpreter._env),
      exceptionError: interpreterRes.exceptionError,
      gas: interpreterRes.runState?.gasLeft,
      executionGasUsed: gasUsed,
      gasRefund: interpreterRes.runState.gasRefund,
      stateGasSpilled: interpreterRes.runState.stateGasSpilled,
      returnValue: result.returnValue ?? new Uint8Array(0),
    })
  }
}

function patch({
  proto,
  subMemUsage,
  consumePostTargetCallOog,
  gasHandlers,
  opHandlers,
  EVMError,
}: Modules): void {
  const stockRun = proto.run
  const stockStep = proto.runStep
  /** Synchronous twins of the stock gas functions that only charge memory growth (the same code). */
  const syncGas = new Map<GasHandler, GasHandler>()
  const memoryGas = (op: number, length: bigint) => {
    const len = Number(length)
    const stock = gasHandlers.get(op)
    if (stock !== undefined)
      syncGas.set(stock, (rs, gas, common) => {
        const stack = rs.stack as unknown as { _store: bigint[]; _len: number }
        // Memory that already holds [offset, offset + length) costs nothing more: what
        // `subMemUsage` returns then, changing nothing (its words rounded up are within the count).
        if (stack._len > 0) {
          const offset = stack._store[stack._len - 1]!
          if (offset <= SMALL_OFFSET && Number(offset) + len <= Number(rs.memoryWordCount) * 32) return gas
        }
        return gas + subMemUsage(rs, rs.stack.peek()[0]!, length, common)
      })
  }
  memoryGas(0x51, 32n) // MLOAD
  memoryGas(0x52, 32n) // MSTORE
  memoryGas(0x53, 1n) // MSTORE8
  /** A synchronous twin of the stock gas function of `op` (the same code, not awaited). */
  const twin = (op: number, gas: GasHandler) => {
    const stock = gasHandlers.get(op)
    if (stock !== undefined) syncGas.set(stock, gas)
  }
  // KECCAK256, CALLDATACOPY, MCOPY, RETURN and REVERT: memory growth and a charge per word, as
  // the stock functions of 10.1.3 compute them; an app's every call runs some of them.
  twin(0x20, (rs, gas, common) => {
    const [offset, length] = rs.stack.peek(2) as [bigint, bigint]
    gas += subMemUsage(rs, offset, length, common)
    gas += common.param('keccak256WordGas') * ((length + 31n) / 32n)
    return gas
  })
  twin(0x37, (rs, gas, common) => {
    const [memOffset, , dataLength] = rs.stack.peek(3) as [bigint, bigint, bigint]
    gas += subMemUsage(rs, memOffset, dataLength, common)
    if (dataLength !== 0n) gas += common.param('copyGas') * ((dataLength + 31n) / 32n)
    return gas
  })
  twin(0x5e, (rs, gas, common) => {
    const [dst, src, length] = rs.stack.peek(3) as [bigint, bigint, bigint]
    const wordsCopied = (length + 31n) / 32n
    gas += 3n * wordsCopied
    gas += subMemUsage(rs, src, length, common)
    gas += subMemUsage(rs, dst, length, common)
    return gas
  })
  const returnGas: GasHandler = (rs, gas, common) => {
    const [offset, length] = rs.stack.peek(2) as [bigint, bigint]
    return gas + subMemUsage(rs, offset, length, common)
  }
  twin(0xf3, returnGas)
  twin(0xfd, returnGas)

  /** One opcode: undefined when it ran to the end synchronously, else the promise of its end. */
  const step = (self: Interpreter, rs: RunState, entry: OpEntry | undefined): Promise<void> | undefined => {
    const opEntry = entry ?? self.lookupOpInfo(rs.opCode)
    const info = opEntry.opcodeInfo
    let gas = info.feeBigInt
    if (info.dynamicGas) {
      const sync = syncGas.get(opEntry.gasHandler)
      if (sync === undefined) return stockStep.call(self, entry)
      gas = sync(rs, gas, self.common) as bigint
    }
    if (info.isInvalid) throw new EVMError(INVALID_OPCODE)
    self.useGas(gas, info)
    rs.programCounter++
    consumePostTargetCallOog(rs)
    const done = opEntry.opHandler(rs, self.common)
    if (info.isAsync && done instanceof Promise) return done.then(() => rs.env.accessWitness?.commit())
    rs.env.accessWitness?.commit()
    return undefined
  }

  /** Runs the stack opcodes from the program counter on ({@link stackRun}). */
  const runStack = stackRun((message) => {
    throw new EVMError(message)
  }, stockStackHandlers(opHandlers))
  /** The pushed words of a jump analysis by position, in an array (the analysis keeps them in an object). */
  const pushArrays = new WeakMap<object, (bigint | undefined)[]>()
  const pushArray = (pushes: Record<number, bigint>, size: number) => {
    let array = pushArrays.get(pushes)
    if (array === undefined) {
      array = new Array<bigint | undefined>(size + 1).fill(undefined)
      for (const at of Object.keys(pushes)) array[Number(at)] = pushes[Number(at)]
      pushArrays.set(pushes, array)
    }
    return array
  }

  proto.run = async function (this: Interpreter, code: Uint8Array, opts: { pc?: number } = {}) {
    const evm = this._evm
    if (
      !inline.has(evm) ||
      code[0] === EOF_FORMAT ||
      this.profilerOpts?.enabled === true ||
      evm.DEBUG ||
      evm.events.listenerCount('step') > 0 ||
      (this._runState.env.chargeCodeAccesses === true &&
        (this.common.isActivatedEIP(6800) || this.common.isActivatedEIP(7864)))
    )
      return stockRun.call(this, code, opts)
    const rs = this._runState
    rs.code = code
    rs.programCounter = opts.pc ?? rs.programCounter
    const pc0 = rs.programCounter
    if (pc0 !== 0 && (pc0 < 0 || pc0 >= code.length))
      throw new Error('Internal error: program counter not in range')
    let err: { error: string } | undefined
    let cachedOpcodes: OpEntry[] | undefined
    // Once the code's jump analysis is there (PUSH reads its words), an opcode of a fixed fee runs
    // in the loop, runs of stack opcodes without their handlers, unless a step of the interpreter
    // has more to do than charge the fee (an access witness to commit, a call's deferred
    // out-of-gas).
    let pushes: (bigint | undefined)[] | undefined
    const plain = rs.env.accessWitness === undefined
    while (rs.programCounter < rs.code.length) {
      try {
        let opCode: number
        let entry: OpEntry | undefined
        if (cachedOpcodes === undefined) {
          opCode = rs.code[rs.programCounter]!
          if (opCode === 0x56 || opCode === 0x57 || opCode === 0x5e) {
            const { jumps, pushes: words, opcodesCached } = this._getValidJumpDestinations(rs.code)
            rs.validJumps = jumps
            rs.cachedPushes = words
            rs.shouldDoJumpAnalysis = false
            cachedOpcodes = opcodesCached
            if (plain) pushes = pushArray(words, rs.code.length)
          }
        } else {
          if (pushes !== undefined && rs.eip7928PostTargetCallOog === undefined) {
            runStack(rs as never, cachedOpcodes as never, pushes)
            if (rs.programCounter >= rs.code.length) break
          }
          entry = cachedOpcodes[rs.programCounter]!
          opCode = entry.opcodeInfo.code
        }
        rs.opCode = opCode
        if (pushes !== undefined && entry !== undefined && rs.eip7928PostTargetCallOog === undefined) {
          const info = entry.opcodeInfo
          if (!info.dynamicGas && !info.isInvalid) {
            // The interpreter's step for a fixed fee: charge it, move past the opcode, run it.
            rs.gasLeft -= info.feeBigInt
            if (rs.gasLeft < 0n) {
              rs.gasLeft = 0n
              throw new EVMError(OUT_OF_GAS)
            }
            rs.programCounter++
            const done = entry.opHandler(rs, this.common)
            if (info.isAsync && done instanceof Promise) await done
            continue
          }
        }
        const pending = step(this, rs, entry)
        if (pending !== undefined) await pending
      } catch (e) {
        rs.env.accessWitness?.revert()
        if (!(typeof e === 'object' && e !== null && (e as { errorType?: unknown }).errorType === EVM_ERROR))
          throw e
        if ((e as { error: string }).error !== STOP) err = e as { error: string }
        break
      }
    }
    if (err === undefined && rs.eip8037BurnLeftoverAfterCreateHaltOntoAlive === true && rs.gasLeft > 0n) {
      rs.gasLeft = 0n
      err = new EVMError(OUT_OF_GAS)
    }
    return { runState: rs, exceptionError: err }
  }
}
