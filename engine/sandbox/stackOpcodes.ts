/** The interpreter's stack as `@ethereumjs/evm` 10.1.3 keeps it: the words below `_len` are the stack. */
type Stack = { _store: bigint[]; _len: number; _maxHeight: number }
type StackState = { stack: Stack; programCounter: number }

const TWO_POW256 = 1n << 256n
const MAX_WORD = TWO_POW256 - 1n

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

/**
 * What the stock handlers of {@link STACK_OPCODES} do, on the stack's array directly: no array per
 * `popN`, no call per push, no `mod` through `%` (`BigInt.asUintN(256, x)` is `x` modulo 2^256 for
 * every integer, as `mod` is), no EIP lookups per PUSH. Values, stack heights and errors (stack
 * underflow, then overflow, in the stock order) are the stock handlers'. The caller has charged
 * the fee and moved the program counter past the opcode, as the interpreter's step does, and
 * runs PUSH only after the jump analysis (`pushes` is its table of pushed words by position).
 */
export function stackOpcodes(fail: (message: string) => never) {
  const underflow = () => fail('stack underflow')
  const overflow = () => fail('stack overflow')
  return (rs: StackState, op: number, pushes: readonly (bigint | undefined)[]): void => {
    const stack = rs.stack
    const store = stack._store
    const len = stack._len
    if (op >= 0x60) {
      if (op < 0x80) {
        if (len >= stack._maxHeight) overflow()
        store[len] = pushes[rs.programCounter] as bigint
        stack._len = len + 1
        rs.programCounter += op - 0x5f
        return
      }
      if (op < 0x90) {
        const position = op - 0x7f
        if (len < position) underflow()
        if (len >= stack._maxHeight) overflow()
        store[len] = store[len - position]!
        stack._len = len + 1
        return
      }
      const position = op - 0x8f
      if (len <= position) underflow()
      const head = len - 1
      const tmp = store[head]!
      store[head] = store[head - position]!
      store[head - position] = tmp
      return
    }
    switch (op) {
      case 0x5b: // JUMPDEST
        return
      case 0x5f: // PUSH0
        if (len >= stack._maxHeight) overflow()
        store[len] = 0n
        stack._len = len + 1
        return
      case 0x50: // POP
        if (len < 1) underflow()
        stack._len = len - 1
        return
      case 0x15: // ISZERO
        if (len < 1) underflow()
        store[len - 1] = store[len - 1] === 0n ? 1n : 0n
        return
      case 0x19: // NOT
        if (len < 1) underflow()
        store[len - 1] = BigInt.asUintN(256, ~store[len - 1]!)
        return
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
    stack._len = len - 1
  }
}
