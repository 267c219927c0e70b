/** The interpreter's stack as `@ethereumjs/evm` 10.1.3 keeps it: the words below `_len` are the stack. */
type Stack = { _store: bigint[]; _len: number; _maxHeight: number }
type StackState = { stack: Stack; programCounter: number }

const TWO_POW256 = 1n << 256n
const MAX_WORD = TWO_POW256 - 1n
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * The opcodes {@link stackOpcodes} runs: arithmetic, comparison and bit operations on words,
 * POP, JUMPDEST, PUSH0-PUSH32, DUP1-DUP16 and SWAP1-SWAP16. Each has a fixed fee and touches
 * nothing but the stack (PUSH also the program counter).
 */
export const STACK_OPCODES: readonly number[] = [
  0x01,
  0x02,
  0x03,
  0x04,
  0x10,
  0x11,
  0x12,
  0x13,
  0x14,
  0x15,
  0x16,
  0x17,
  0x18,
  0x19,
  0x1b,
  0x1c,
  0x50,
  0x5b,
  0x5f,
  ...Array.from({ length: 0xa0 - 0x60 }, (_, i) => 0x60 + i),
]

/**
 * The stock handlers of {@link STACK_OPCODES}, by opcode: an opcode of a table whose handler is
 * not the one here (a custom opcode) is not run by {@link stackOpcodes}.
 */
export function stockStackHandlers(handlers: Map<number, unknown>): unknown[] {
  const byOp: unknown[] = new Array<unknown>(256).fill(undefined)
  for (const op of STACK_OPCODES) byOp[op] = handlers.get(op)
  return byOp
}

type Entry = {
  /** `fee` and `feeBigInt` are the same fee (the interpreter's `Opcode` makes one of the other). */
  opcodeInfo: { code: number; fee: number; feeBigInt: bigint; dynamicGas: boolean; isInvalid: boolean }
  opHandler: unknown
}
type RunState = StackState & { code: Uint8Array; gasLeft: bigint; opCode: number }

/**
 * Runs the opcodes from the program counter on while they are {@link STACK_OPCODES} with their
 * stock handler (`handlers`, by opcode), each as the interpreter's step and the stock handler
 * would: the fee charged (out of gas: no gas left), the program counter moved past the opcode,
 * then the handler's work, on the stack's array directly: no array per `popN`, no call per push,
 * no `mod` through `%` (`BigInt.asUintN(256, x)` is `x` modulo 2^256 for every integer, as `mod`
 * is), no EIP lookups per PUSH. Values, stack heights and errors (stack underflow, then
 * overflow, in the stock order) are the stock ones. Stops before the first other opcode or at the
 * end of the code; the program counter, gas, opcode and stack are in `rs` when it returns or
 * throws. The gas left is counted in a number, exact below 2^53 (a bigint subtracted per opcode
 * made a bigint per opcode); with more gas than that (a cap no chain has) it runs nothing.
 * `entries` is the jump analysis's opcode table by position, `pushes` its pushed words by position.
 */
export function stackRun(fail: (message: string) => never, handlers: readonly unknown[]) {
  const underflow = () => fail('stack underflow')
  const overflow = () => fail('stack overflow')
  return (rs: RunState, entries: readonly Entry[], pushes: readonly (bigint | undefined)[]): void => {
    const stack = rs.stack
    const store = stack._store
    const max = stack._maxHeight
    if (rs.gasLeft > MAX_EXACT) return
    const end = rs.code.length
    let pc = rs.programCounter
    const gasBefore = Number(rs.gasLeft)
    let gas = gasBefore
    let len = stack._len
    let op = rs.opCode
    try {
      while (pc < end) {
        const entry = entries[pc]!
        const info = entry.opcodeInfo
        const code = info.code
        if (handlers[code] !== entry.opHandler || info.dynamicGas || info.isInvalid) return
        op = code
        gas -= info.fee
        if (gas < 0) {
          gas = 0
          fail('out of gas')
        }
        pc++
        if (op >= 0x60) {
          if (op < 0x80) {
            // PUSH1-PUSH32
            if (len >= max) overflow()
            store[len++] = pushes[pc] as bigint
            pc += op - 0x5f
          } else if (op < 0x90) {
            // DUP1-DUP16
            const position = op - 0x7f
            if (len < position) underflow()
            if (len >= max) overflow()
            store[len] = store[len - position]!
            len++
          } else {
            // SWAP1-SWAP16
            const position = op - 0x8f
            if (len <= position) underflow()
            const head = len - 1
            const tmp = store[head]!
            store[head] = store[head - position]!
            store[head - position] = tmp
          }
          continue
        }
        switch (op) {
          case 0x5b: // JUMPDEST
            continue
          case 0x5f: // PUSH0
            if (len >= max) overflow()
            store[len++] = 0n
            continue
          case 0x50: // POP
            if (len < 1) underflow()
            len--
            continue
          case 0x15: // ISZERO
            if (len < 1) underflow()
            store[len - 1] = store[len - 1] === 0n ? 1n : 0n
            continue
          case 0x19: // NOT
            if (len < 1) underflow()
            store[len - 1] = BigInt.asUintN(256, ~store[len - 1]!)
            continue
        }
        // Two words in (a the top one), one out.
        if (len < 2) underflow()
        const a = store[len - 1]!
        const b = store[len - 2]!
        let r: bigint
        switch (op) {
          case 0x01: // ADD
            r = a + b
            if (r < 0n || r >= TWO_POW256) r = BigInt.asUintN(256, r)
            break
          case 0x02: // MUL
            r = BigInt.asUintN(256, a * b)
            break
          case 0x03: // SUB
            r = a - b
            if (r < 0n || r >= TWO_POW256) r = BigInt.asUintN(256, r)
            break
          case 0x04: // DIV
            r = b === 0n ? 0n : BigInt.asUintN(256, a / b)
            break
          case 0x10: // LT
            r = a < b ? 1n : 0n
            break
          case 0x11: // GT
            r = a > b ? 1n : 0n
            break
          case 0x12: // SLT
            r = BigInt.asIntN(256, a) < BigInt.asIntN(256, b) ? 1n : 0n
            break
          case 0x13: // SGT
            r = BigInt.asIntN(256, a) > BigInt.asIntN(256, b) ? 1n : 0n
            break
          case 0x14: // EQ
            r = a === b ? 1n : 0n
            break
          case 0x16: // AND
            r = a & b
            break
          case 0x17: // OR
            r = a | b
            break
          case 0x18: // XOR
            r = a ^ b
            break
          case 0x1b: // SHL: a is the shift
            r = a > 256n ? 0n : (b << a) & MAX_WORD
            break
          case 0x1c: // SHR: a is the shift
            r = a > 256n ? 0n : b >> a
            break
          default:
            throw new Error(`opcode ${op} is not a stack opcode`)
        }
        store[len - 2] = r
        len--
      }
    } finally {
      rs.programCounter = pc
      if (gas !== gasBefore) rs.gasLeft = BigInt(gas)
      rs.opCode = op
      stack._len = len
    }
  }
}
