import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, encodeAbiParameters, type Hex } from 'viem'
import { encodeState } from '../../engine/channel/encodeState.ts'
import { stateAbi, type State } from '../../engine/channel/types.ts'

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => bytesToHex(b))
const uint = (bits: number) =>
  fc.oneof(fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), fc.constant((1n << BigInt(bits)) - 1n))
/** Hex of either case, as states read back from JSON or typed by a person may be. */
const anyCase = (h: fc.Arbitrary<Hex>) =>
  fc.tuple(h, fc.boolean()).map(([x, upper]) => (upper ? (`0x${x.slice(2).toUpperCase()}` as Hex) : x))
const state: fc.Arbitrary<State> = fc.record({
  channelId: anyCase(bytes(32, 32)),
  version: uint(64),
  balances: fc.array(uint(256), { maxLength: 5 }),
  appData: anyCase(bytes(0, 100)),
  isFinal: fc.boolean(),
})
const viem = (s: State) => encodeAbiParameters([stateAbi], [s])

describe('encodeState', () => {
  it('is byte for byte viem’s encodeAbiParameters of the State tuple', () => {
    fc.assert(
      fc.property(state, (s) => {
        assert.equal(encodeState(s), viem(s))
      }),
      { numRuns: 500 },
    )
  })

  it('a field out of range or malformed throws as viem throws, or encodes as viem does', () => {
    const ok: State = {
      channelId: `0x${'11'.repeat(32)}`,
      version: 1n,
      balances: [1n, 2n],
      appData: '0x',
      isFinal: false,
    }
    const bad: State[] = [
      { ...ok, version: 1n << 64n },
      { ...ok, version: -1n },
      { ...ok, balances: [1n << 256n] },
      { ...ok, channelId: `0x${'11'.repeat(31)}` },
      { ...ok, appData: '0x123' as Hex },
    ]
    let threw = 0
    for (const s of bad) {
      let want: Hex | undefined
      try {
        want = viem(s)
      } catch {
        threw++
        assert.throws(() => encodeState(s))
        continue
      }
      // What viem accepts (an odd number of hex digits, padded its own way) comes out the same.
      assert.equal(encodeState(s), want)
    }
    assert.ok(threw >= 4, `viem refused ${threw} of the bad states`)
    assert.equal(encodeState(ok), viem(ok))
  })
})
