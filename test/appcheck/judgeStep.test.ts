// The checker's verdict on one step, as a table: the evidence of both sides, the finding expected.
import assert from 'node:assert/strict'
import { judgeStep, type StepEvidence } from '../../engine/appcheck/judgeStep.ts'
import type { StepOutcome } from '../../engine/appcheck/types.ts'

const state = (appData: `0x${string}`, balances = [1n, 2n]): StepOutcome => ({
  kind: 'state',
  state: { channelId: `0x${'11'.repeat(32)}`, version: 2n, balances, appData, isFinal: false },
})
const a = state('0xaa')
const b = state('0xbb')
const revert: StepOutcome = { kind: 'revert', data: '0x1234abcd', reason: 'Overspend(1, 0)' }
const base: StepEvidence = {
  chain: a,
  sandbox: a,
  sandboxChainContext: a,
  sandboxMoreGas: a,
  acceptedAfterFinal: false,
  chainAppGas: 3_000n,
  gasCap: 5_000_000n,
}

describe('judgeStep: the rule a step breaks', () => {
  const rows: [string, Partial<StepEvidence>, string | undefined][] = [
    ['both sides agree', {}, undefined],
    [
      'both revert with the same data',
      { chain: revert, sandbox: revert, sandboxChainContext: revert, sandboxMoreGas: revert },
      undefined,
    ],
    ['the post-states differ', { chain: b }, 'divergence'],
    ['one side reverts', { chain: revert }, 'divergence'],
    ['the block context changes the result', { sandboxChainContext: b, chain: b }, 'block-context'],
    ['the gas given changes the result', { sandboxMoreGas: b }, 'gasleft'],
    ['the chain used more gas than the cap', { chainAppGas: 5_000_001n }, 'gas-cap'],
    [
      'the sandbox ran out of gas',
      { sandbox: { kind: 'cap', reason: 'out of gas (cap 5000000)' } },
      'gas-cap',
    ],
    [
      'both sides refuse balances that do not add up',
      {
        chain: { kind: 'not-conserved', reason: 'NotConserved(3, 2)' },
        sandbox: { kind: 'not-conserved', reason: 'sum to 2' },
        sandboxChainContext: { kind: 'not-conserved', reason: 'sum to 2' },
        sandboxMoreGas: { kind: 'not-conserved', reason: 'sum to 2' },
      },
      'not-conserved',
    ],
    ['a final state takes a step', { acceptedAfterFinal: true }, 'not-final'],
  ]
  for (const [name, evidence, kind] of rows) {
    it(`${name}: ${kind ?? 'no finding'}`, () => {
      assert.equal(judgeStep({ ...base, ...evidence })?.kind, kind)
    })
  }
})
