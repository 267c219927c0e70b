import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, type Address } from 'viem'
import { encodeState, getChannelId } from '../../engine/channel/index.ts'
import { paramsToWire, stateToWire, wireToParams, wireToState } from '../../engine/channel/wire.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { WireState } from '../../engine/transport/types.ts'

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => bytesToHex(b))
const stateArb: fc.Arbitrary<State> = fc.record({
  channelId: hex(32),
  version: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  balances: fc.array(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), { maxLength: 5 }),
  appData: fc.uint8Array({ maxLength: 200 }).map((b) => bytesToHex(b)),
  isFinal: fc.boolean(),
})
const paramsArb: fc.Arbitrary<ChannelParams> = fc.record({
  chainId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  adjudicator: hex(20).map((h) => h as Address),
  participants: fc.array(
    hex(20).map((h) => h as Address),
    { minLength: 2, maxLength: 4 },
  ),
  app: hex(20).map((h) => h as Address),
  appCodeHash: hex(32),
  challengeDuration: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  nonce: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
})

describe('channel: wire encoding', () => {
  it('states and params survive JSON on the wire unchanged (same ABI bytes, same channel id)', () => {
    fc.assert(
      fc.property(stateArb, paramsArb, (s, p) => {
        const s2 = wireToState(JSON.parse(JSON.stringify(stateToWire(s))) as WireState)
        assert.equal(encodeState(s2), encodeState(s))
        const p2 = wireToParams(JSON.parse(JSON.stringify(paramsToWire(p))))
        assert.equal(getChannelId(p2), getChannelId(p))
      }),
      { numRuns: 300 },
    )
  })

  it('malformed wire states are a typed INVALID_ARGUMENT, never a wrong state', () => {
    const good = stateToWire({
      channelId: `0x${'11'.repeat(32)}`,
      version: 1n,
      balances: [1n],
      appData: '0x',
      isFinal: false,
    })
    const bad = fc.oneof(
      fc.record({
        version: fc.oneof(
          fc.constant('-1'),
          fc.constant('1.5'),
          fc.constant('0x10'),
          fc.constant('18446744073709551616'),
          fc
            .integer()
            .map(String)
            .filter((x) => x.startsWith('-')),
        ),
      }),
      fc.record({ channelId: fc.oneof(fc.constant('0x1234'), fc.constant('nothex'), hex(31), hex(33)) }),
      fc.record({
        appData: fc.oneof(fc.constant('0x1'), fc.constant('zz'), fc.constant(12 as unknown as string)),
      }),
      fc.record({
        balances: fc.oneof(
          fc.constant(['-5']),
          fc.constant(['1e3']),
          fc.constant('12' as unknown as string[]),
          fc.constant([`1${'0'.repeat(80)}`]),
          fc.constant(['9'.repeat(78)]),
        ),
      }),
      fc.record({ isFinal: fc.constant('yes' as unknown as boolean) }),
    )
    fc.assert(
      fc.property(bad, (patch) => {
        assert.throws(
          () => wireToState({ ...good, ...patch } as WireState),
          (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
        )
      }),
      { numRuns: 300 },
    )
  })
})
