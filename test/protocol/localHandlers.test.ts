import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import type { SignedState, State } from '../../engine/channel/types.ts'
import type { Answer, Ask, Handled, Handler, Step } from '../../engine/protocol/effects.ts'
import { createChannelMachine, machinePhase, type ChannelMachine } from '../../engine/protocol/machine.ts'
import { onFunding } from '../../engine/protocol/onFunding.ts'
import { escrowChannel } from '../support/channel.ts'

// The local actions' handlers as pure functions: machine + input + facts in, next machine +
// effects out. No store, no sandbox, no signer: every fact a handler asks for is given by the
// table, and a fact the table does not give fails the test.

const { params, channelId, initial } = escrowChannel({ nonce: 91n })
const sigs = ['0x01', '0x02'] as Hex[]
const at = (version: bigint, over: Partial<State> = {}): SignedState => ({
  state: { ...initial, version, ...over },
  signatures: sigs,
})

/** A machine in `phase`: nothing co-signed (opening), version 0 unfunded (funding), version 3 funded (open). */
function machine(phase: 'opening' | 'funding' | 'open'): ChannelMachine {
  const ch = createChannelMachine({
    id: channelId,
    params,
    myIndex: 0,
    app: escrowApp,
    funded: phase === 'open',
  })
  if (phase === 'funding') ch.latest = at(0n)
  if (phase === 'open') ch.latest = at(3n, { balances: [900n, 100n] })
  assert.equal(machinePhase(ch), phase)
  return ch
}

type Asked = { [K in Ask['kind']]?: (a: Extract<Ask, { kind: K }>) => Answer[K] }

/**
 * Asks a handler until it decides, answering each fact by `answers` (by the kind of question);
 * returns the decision and the questions asked, and checks the input machine is left as it was.
 */
function decide<I, F extends object>(h: Handler<I, F>, m: ChannelMachine, input: I, answers: Asked = {}) {
  const before = structuredClone(m)
  const facts = {} as F
  const asked: Ask[] = []
  for (let i = 0; i < 50; i++) {
    const r: Handled<F> = h(m, input, facts)
    if (!('need' in r)) {
      assert.deepEqual(m, before, 'the handler left its input machine as it was')
      return { step: r as Step, asked }
    }
    const { key, ask } = r.need
    asked.push(ask)
    const answer = answers[ask.kind] as ((a: Ask) => unknown) | undefined
    assert.ok(answer !== undefined, `the table gives the fact ${key} (${ask.kind})`)
    ;(facts as Record<string, unknown>)[key] = answer(ask)
  }
  throw new Error('the handler keeps asking')
}

const kinds = (s: Step) => s.effects.map((e) => e.kind)
const resolved = (s: Step) => s.effects.flatMap((e) => (e.kind === 'resolve' ? [e.value] : []))
/** A decision that changes nothing: the same machine, no write, no event, only the caller's answer. */
const changesNothing = (s: Step, m: ChannelMachine) => {
  assert.equal(s.machine, m)
  assert.deepEqual(kinds(s), ['resolve'])
}

describe('local handlers as pure functions: the deposits seen on chain (onFunding)', () => {
  const full = initial.balances
  const table: {
    phase: 'opening' | 'funding' | 'open'
    deposited: readonly bigint[]
    stored?: SignedState | null
    expect: 'funded' | 'underfunded' | RegExp
  }[] = [
    { phase: 'funding', deposited: full, expect: 'funded' },
    { phase: 'funding', deposited: [full[0]! - 1n, 0n], expect: 'underfunded' },
    { phase: 'funding', deposited: [full[0]!], expect: /one deposit per participant/ },
    { phase: 'open', deposited: full, stored: at(0n), expect: 'funded' },
    { phase: 'open', deposited: [0n, 0n], stored: at(0n), expect: 'underfunded' },
    { phase: 'opening', deposited: full, stored: null, expect: /not open yet/ },
  ]
  for (const row of table) {
    it(`${row.phase}, deposits ${row.deposited.join('/')}: ${String(row.expect)}`, () => {
      const m = machine(row.phase)
      const answers: Asked = {
        coSignedAt: (a) => {
          assert.equal(a.version, 0n)
          assert.ok(row.stored !== undefined, 'the machine holds version 0: the store is not asked')
          return row.stored
        },
      }
      const input = { id: 'f1', deposited: row.deposited }
      if (row.expect instanceof RegExp) {
        assert.throws(() => decide(onFunding, m, input, answers), row.expect)
        return
      }
      const { step, asked } = decide(onFunding, m, input, answers)
      assert.equal(asked.length, row.stored === undefined ? 0 : 1)
      if (row.expect === 'underfunded') {
        changesNothing(step, m)
        const [v] = resolved(step)
        assert.deepEqual(v, {
          funding: {
            ok: false,
            reason: 'underfunded',
            missing: [0],
            message: 'participants 0 have not deposited their initial balance',
          },
        })
        return
      }
      assert.equal(step.machine.funded, true)
      assert.deepEqual({ ...step.machine, funded: m.funded }, m, 'only funded changes')
      assert.deepEqual(step.effects, [
        { kind: 'save', fact: { funding: row.deposited } },
        { kind: 'emit', event: { type: 'funded', channelId, deposited: row.deposited } },
        { kind: 'resolve', id: 'f1', value: { funding: { ok: true } } },
      ])
      if (row.phase === 'funding') assert.equal(machinePhase(step.machine), 'open')
    })
  }
})
