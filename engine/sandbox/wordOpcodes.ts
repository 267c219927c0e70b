import type { Common } from '@ethereumjs/common'
import type { getOpcodesForHF } from '@ethereumjs/evm'

type WordMemory = { extend(offset: number, size: number): void; _store: Uint8Array }
type WordStack = { pop(): bigint; popN(n: number): bigint[]; push(value: bigint): void }

/** A DataView over `bytes`, the last one made kept (memory and calldata keep their arrays for a call). */
function viewCache(): (bytes: Uint8Array) => DataView {
  let of: Uint8Array | undefined
  let view: DataView | undefined
  return (bytes) => {
    if (of !== bytes || view === undefined) {
      view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      of = bytes
    }
    return view
  }
}
const memoryView = viewCache()
const callDataView = viewCache()

/** 2^32, and the largest word a number holds exactly. */
const TWO_POW32 = 4294967296
const MAX_SAFE_WORD = BigInt(Number.MAX_SAFE_INTEGER)

/** The 32 bytes at `at` of `view` as a big-endian word (`at + 32` must not pass the end). */
function readWord(view: DataView, at: number): bigint {
  // A word below 2^53 (lengths, offsets, counts, most amounts) is made from one number.
  if (
    (view.getUint32(at) |
      view.getUint32(at + 4) |
      view.getUint32(at + 8) |
      view.getUint32(at + 12) |
      view.getUint32(at + 16) |
      view.getUint32(at + 20)) ===
    0
  ) {
    const high = view.getUint32(at + 24)
    if (high < 0x200000) return BigInt(high * TWO_POW32 + view.getUint32(at + 28))
  }
  return (
    (view.getBigUint64(at) << 192n) |
    (view.getBigUint64(at + 8) << 128n) |
    (view.getBigUint64(at + 16) << 64n) |
    view.getBigUint64(at + 24)
  )
}

/** MSTORE: pops an offset and a word and writes the word big-endian at the offset (memory grows). */
function storeWord(runState: { stack: WordStack; memory: unknown }): void {
  const [offset, word] = runState.stack.popN(2) as [bigint, bigint]
  const at = Number(offset)
  const memory = runState.memory as WordMemory
  memory.extend(at, 32)
  const view = memoryView(memory._store)
  if (word <= MAX_SAFE_WORD) {
    // A word below 2^53: 24 zero bytes, then its number in two halves.
    const n = Number(word)
    view.setUint32(at, 0)
    view.setUint32(at + 4, 0)
    view.setUint32(at + 8, 0)
    view.setUint32(at + 12, 0)
    view.setUint32(at + 16, 0)
    view.setUint32(at + 20, 0)
    view.setUint32(at + 24, Math.floor(n / TWO_POW32))
    view.setUint32(at + 28, n >>> 0)
    return
  }
  view.setBigUint64(at, word >> 192n)
  view.setBigUint64(at + 8, word >> 128n)
  view.setBigUint64(at + 16, word >> 64n)
  view.setBigUint64(at + 24, word)
}

/** MLOAD: pops an offset and pushes the big-endian word at it (memory grows). */
function loadWord(runState: { stack: WordStack; memory: unknown }): void {
  const at = Number(runState.stack.pop())
  const memory = runState.memory as WordMemory
  memory.extend(at, 32)
  runState.stack.push(readWord(memoryView(memory._store), at))
}

/** CALLDATALOAD: pops an offset and pushes the calldata word at it, zero past the end. */
function loadCallData(runState: { stack: WordStack; interpreter: unknown }): void {
  const offset = runState.stack.pop()
  const data = (runState.interpreter as { getCallData(): Uint8Array }).getCallData()
  if (offset >= BigInt(data.length)) {
    runState.stack.push(0n)
    return
  }
  const at = Number(offset)
  if (at + 32 <= data.length) {
    runState.stack.push(readWord(callDataView(data), at))
    return
  }
  const word = new Uint8Array(32)
  word.set(data.subarray(at))
  runState.stack.push(readWord(new DataView(word.buffer), 0))
}

/**
 * CALLDATALOAD, MLOAD and MSTORE for the sandbox's EVM, as custom opcodes. MSTORE as the
 * interpreter has it pads the word through two spread arrays per store; MLOAD and CALLDATALOAD read
 * their word through a hex string. These move the 32 bytes straight between memory (or calldata)
 * and the stack, with the interpreter's own fees and gas functions.
 */
export function wordOpcodes(common: Common, forks: ReturnType<typeof getOpcodesForHF>) {
  const word = (op: number, name: string, logic: (runState: never) => void) => {
    const gasFunction = forks.dynamicGasHandlers.get(op)
    return {
      opcode: op,
      opcodeName: name,
      baseFee: Number(common.param(`${name.toLowerCase()}Gas`)),
      ...(gasFunction === undefined ? {} : { gasFunction }),
      logicFunction: logic,
    }
  }
  if (forks.dynamicGasHandlers.get(0x51) === undefined || forks.dynamicGasHandlers.get(0x52) === undefined)
    throw new Error('no gas function for MLOAD or MSTORE')
  return [
    word(0x35, 'CALLDATALOAD', loadCallData),
    word(0x51, 'MLOAD', loadWord),
    word(0x52, 'MSTORE', storeWord),
  ]
}
