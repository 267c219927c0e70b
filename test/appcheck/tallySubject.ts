// The Tally test app (test/fixtures/appcheck/Tally.sol) as a subject of `checkApp`: its opening
// and its random steps (PAY of an amount by either side, now and then CLOSE).
import fc from 'fast-check'
import { encodeAbiParameters, type Hex } from 'viem'
import type { CheckStep, CheckSubject } from '../../engine/appcheck/types.ts'
import type { CompiledContract } from './compileFixture.ts'

const action = (kind: number, amount?: bigint): Hex =>
  encodeAbiParameters(
    [{ type: 'uint8' }, { type: 'bytes' }],
    [kind, amount === undefined ? '0x' : encodeAbiParameters([{ type: 'uint256' }], [amount])],
  )

/** PAY `amount` by `mover`, `advance` seconds after the previous step. */
export function pay(mover: bigint, amount: bigint, advance = 1n): CheckStep {
  return { label: `pay(amount=${amount})`, mover, advance, action: () => action(0, amount) }
}

/** CLOSE by `mover`. */
export function close(mover: bigint, advance = 1n): CheckStep {
  return { label: 'close()', mover, advance, action: () => action(1) }
}

const mover = fc.constantFrom(0n, 1n)
const advance = fc.bigInt({ min: 1n, max: 3_600n })

/** A subject for a compiled Tally (or a variant with a planted fault). */
export function tallySubject(
  c: CompiledContract,
  sequences: readonly (readonly CheckStep[])[] = [],
): CheckSubject {
  return {
    name: c.contractName,
    abi: c.abi,
    bytecode: c.bytecode,
    deployedBytecode: c.deployedBytecode,
    opening: () => ({
      appData: encodeAbiParameters(
        [{ type: 'uint64' }, { type: 'uint64' }, { type: 'uint256' }],
        [0n, 0n, 0n],
      ),
      balances: [1_000n, 1_000n],
    }),
    step: fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record({ mover, amount: fc.bigInt({ min: 0n, max: 200n }), advance })
          .map((s) => pay(s.mover, s.amount, s.advance)),
      },
      { weight: 1, arbitrary: fc.record({ mover, advance }).map((s) => close(s.mover, s.advance)) },
    ),
    sequences,
  }
}
