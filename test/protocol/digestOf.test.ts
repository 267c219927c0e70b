import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, type Address, type Hex } from 'viem'
import { hashState } from '../../engine/channel/hashState.ts'
import type { State } from '../../engine/channel/types.ts'
import { createChannelMachine } from '../../engine/protocol/machine.ts'
import { stateToWire } from '../../engine/channel/wire.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { digestOf, stateOf } from '../../engine/protocol/messageChecks.ts'
import { escrowChannel } from '../support/channel.ts'

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => bytesToHex(b))
const state: fc.Arbitrary<State> = fc.record({
  channelId: bytes(32, 32),
  version: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  balances: fc.array(fc.bigInt({ min: 0n, max: 10n ** 30n }), { minLength: 1, maxLength: 3 }),
  appData: bytes(0, 64),
  isFinal: fc.boolean(),
})
/** The state with one field changed. */
const changed = (s: State, which: number): State => {
  switch (which % 5) {
    case 0:
      return { ...s, version: s.version === 0n ? 1n : s.version - 1n }
    case 1:
      return { ...s, balances: [s.balances[0]! + 1n, ...s.balances.slice(1)] }
    case 2:
      return { ...s, appData: `${s.appData}00` as Hex }
    case 3:
      return { ...s, isFinal: !s.isFinal }
    default:
      return {
        ...s,
        channelId: `0x${s.channelId.slice(2, 65)}${s.channelId.endsWith('0') ? '1' : '0'}` as Hex,
      }
  }
}

describe('protocol: digestOf keeps recent digests by content and by state object', () => {
  const { params, channelId } = escrowChannel()
  const machine = (over: Partial<typeof params> = {}, myIndex = 0) =>
    createChannelMachine({
      id: channelId,
      params: { ...params, ...over },
      myIndex,
      app: { code: '0x' },
      funded: true,
    })
  const fresh = (m: ReturnType<typeof machine>, s: State) =>
    hashState(m.params.chainId, m.params.adjudicator, s)

  it('a kept digest is the one hashing gives, and changed content or another domain never gets it', () => {
    const ch = machine()
    const otherChain = machine({ chainId: params.chainId + 1n })
    const otherAdjudicator = machine({ adjudicator: '0x000000000000000000000000000000000000beef' as Address })
    fc.assert(
      fc.property(state, fc.nat(), (s, which) => {
        const d = digestOf(ch, s)
        assert.equal(d, fresh(ch, s))
        assert.equal(digestOf(ch, { ...s, balances: [...s.balances] }), d, 'same content, another object')
        const t = changed(s, which)
        assert.equal(digestOf(ch, t), fresh(ch, t))
        assert.notEqual(digestOf(ch, t), d)
        assert.equal(digestOf(otherChain, s), fresh(otherChain, s))
        assert.equal(digestOf(otherAdjudicator, s), fresh(otherAdjudicator, s))
        assert.notEqual(digestOf(otherChain, s), d)
        assert.notEqual(digestOf(otherAdjudicator, s), d)
        assert.equal(
          digestOf(machine({}, 1), s),
          d,
          'another participant index hashes the same content alike',
        )
      }),
      { numRuns: 300 },
    )
  })

  it('any field of a state object changed in place (a balance inside its array too) gets the digest of its new content', () => {
    const ch = machine()
    fc.assert(
      fc.property(state, fc.nat(), (s0, which) => {
        const s = { ...s0, balances: [...s0.balances] } as { -readonly [K in keyof State]: State[K] }
        const before = digestOf(ch, s)
        assert.equal(digestOf(ch, s), before, 'asked again unchanged')
        const t = changed(s0, which)
        if (which % 5 === 1) (s.balances as bigint[])[0] = t.balances[0]!
        else Object.assign(s, t)
        assert.equal(digestOf(ch, s), fresh(ch, t))
        assert.notEqual(digestOf(ch, s), before)
      }),
      { numRuns: 300 },
    )
  })

  it('stateOf reads a wire state once, and again once any of its fields changed; a malformed one throws every time', () => {
    fc.assert(
      fc.property(state, fc.nat(), (s0, which) => {
        const w = stateToWire(s0) as { -readonly [K in keyof ReturnType<typeof stateToWire>]: unknown }
        const a = stateOf(w as never)
        assert.deepEqual(a, { ...s0 })
        assert.equal(stateOf(w as never), a, 'the same message read again')
        const t = changed(s0, which)
        if (which % 5 === 1) (w.balances as string[])[0] = String(t.balances[0])
        else Object.assign(w, stateToWire(t))
        assert.deepEqual(stateOf(w as never), { ...t })
        w.version = 'not a number'
        for (let i = 0; i < 2; i++)
          assert.throws(
            () => stateOf(w as never),
            (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
          )
      }),
      { numRuns: 300 },
    )
  })

  it('a state object changed in place after its digest was taken gets the digest of its new content', () => {
    const ch = machine()
    const s = { ...escrowChannel().initial } as { -readonly [K in keyof State]: State[K] }
    const before = digestOf(ch, s)
    s.version = 7n
    assert.equal(digestOf(ch, s), fresh(ch, s))
    assert.notEqual(digestOf(ch, s), before)
  })
})
