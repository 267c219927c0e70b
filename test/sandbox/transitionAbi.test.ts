import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  bytesToHex,
  decodeFunctionResult,
  hexToBytes,
  encodeFunctionData,
  encodeFunctionResult,
  type Address,
  type Hex,
} from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'
import type { ChannelParams, Env, State } from '../../engine/channel/types.ts'
import {
  decodeTransitionResult,
  decodeTransitionResultBytes,
} from '../../engine/sandbox/decodeTransitionResult.ts'
import { encodeTransitionCall } from '../../engine/sandbox/encodeTransitionCall.ts'

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => bytesToHex(b))
const uint = (bits: number) =>
  fc.oneof(fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), fc.constant((1n << BigInt(bits)) - 1n))
const address = bytes(20, 20).map((h) => h as Address)
const params: fc.Arbitrary<ChannelParams> = fc.record({
  chainId: uint(256),
  adjudicator: address,
  participants: fc.array(address, { minLength: 1, maxLength: 4 }),
  app: address,
  appCodeHash: bytes(32, 32),
  challengeDuration: uint(64),
  nonce: uint(256),
})
const state: fc.Arbitrary<State> = fc.record({
  channelId: bytes(32, 32),
  version: uint(64),
  balances: fc.array(uint(256), { maxLength: 5 }),
  appData: bytes(0, 100),
  isFinal: fc.boolean(),
})
const env: fc.Arbitrary<Env> = fc.record({ blockNumber: uint(64), timestamp: uint(64) })

const viemCall = (p: ChannelParams, s: State, mover: bigint, action: Hex, e: Env) =>
  encodeFunctionData({ abi: IApp.abi, functionName: 'transition', args: [p, s, mover, action, e] })
/** What a call gives: its value, or the first line of what it threw. */
const outcome = <T>(f: () => T): { value: T } | { error: string } => {
  try {
    return { value: f() }
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] ?? '' }
  }
}

describe('sandbox: the transition call encoded and its result decoded without viem’s generic coder', () => {
  it('encodes the same bytes as viem’s encodeFunctionData', () => {
    fc.assert(
      fc.property(params, state, uint(256), bytes(0, 80), env, (p, s, mover, action, e) => {
        const want = viemCall(p, s, mover, action, e)
        assert.equal(encodeTransitionCall(p, s, mover, action, e).toLowerCase(), want.toLowerCase())
        // Again with the same params object: the kept params encoding gives the same bytes.
        assert.equal(encodeTransitionCall(p, s, mover, action, e).toLowerCase(), want.toLowerCase())
      }),
      { numRuns: 300 },
    )
  })

  it('a params object changed after its first call, or another params object, never gets the kept encoding', () => {
    fc.assert(
      fc.property(params, params, state, env, (p, q, s, e) => {
        const first = encodeTransitionCall(p, s, 0n, '0x', e)
        assert.equal(first.toLowerCase(), viemCall(p, s, 0n, '0x', e).toLowerCase())
        assert.equal(
          encodeTransitionCall(q, s, 0n, '0x', e).toLowerCase(),
          viemCall(q, s, 0n, '0x', e).toLowerCase(),
        )
        const changed = p as { -readonly [K in keyof ChannelParams]: ChannelParams[K] }
        changed.nonce = p.nonce === 0n ? 1n : p.nonce - 1n
        changed.participants = [...p.participants, q.adjudicator]
        const again = encodeTransitionCall(changed, s, 0n, '0x', e)
        assert.equal(again.toLowerCase(), viemCall(changed, s, 0n, '0x', e).toLowerCase())
        assert.notEqual(again, first)
      }),
      { numRuns: 100 },
    )
  })

  it('throws what viem throws for values it cannot encode', () => {
    const bad = fc.oneof(
      state.map((s) => ({ s, mover: 0n, action: '0x' as Hex, e: { blockNumber: 1n << 64n, timestamp: 1n } })),
      state.map((s) => ({
        s: { ...s, version: -1n },
        mover: 0n,
        action: '0x' as Hex,
        e: { blockNumber: 1n, timestamp: 1n },
      })),
      state.map((s) => ({
        s: { ...s, appData: '0x123' as Hex },
        mover: 0n,
        action: '0x' as Hex,
        e: { blockNumber: 1n, timestamp: 1n },
      })),
      state.map((s) => ({
        s: { ...s, channelId: '0x12' as Hex },
        mover: 0n,
        action: '0x' as Hex,
        e: { blockNumber: 1n, timestamp: 1n },
      })),
      state.map((s) => ({
        s,
        mover: 1n << 256n,
        action: '0x' as Hex,
        e: { blockNumber: 1n, timestamp: 1n },
      })),
      state.map((s) => ({ s, mover: 0n, action: 'nothex' as Hex, e: { blockNumber: 1n, timestamp: 1n } })),
    )
    fc.assert(
      fc.property(params, bad, (p, { s, mover, action, e }) => {
        const want = outcome(() => viemCall(p, s, mover, action, e).toLowerCase())
        const got = outcome(() => encodeTransitionCall(p, s, mover, action, e).toLowerCase())
        assert.deepEqual(got, want)
      }),
      { numRuns: 100 },
    )
    // A params object viem refuses: the same error, not a kept encoding.
    const p = { ...fc.sample(params, 1)[0]!, adjudicator: '0x1234' as Address }
    const s = fc.sample(state, 1)[0]!
    const e = { blockNumber: 1n, timestamp: 1n }
    assert.deepEqual(
      outcome(() => encodeTransitionCall(p, s, 0n, '0x', e)),
      outcome(() => viemCall(p, s, 0n, '0x', e)),
    )
    assert.ok('error' in outcome(() => encodeTransitionCall(p, s, 0n, '0x', e)))
  })

  it('decodes what viem decodes, and refuses what viem refuses', () => {
    const result = fc.tuple(bytes(0, 100), fc.array(uint(256), { maxLength: 5 }), fc.boolean())
    const decode = (data: Hex) =>
      outcome(() => decodeFunctionResult({ abi: IApp.abi, functionName: 'transition', data }))
    fc.assert(
      fc.property(result, (r) => {
        const data = encodeFunctionResult({ abi: IApp.abi, functionName: 'transition', result: r })
        const want = decode(data)
        assert.ok('value' in want)
        assert.deepEqual(decodeTransitionResult(data), want.value)
        assert.deepEqual(decodeTransitionResult(data), [r[0].toLowerCase(), r[1], r[2]])
        assert.deepEqual(decodeTransitionResultBytes(hexToBytes(data)), want.value)
      }),
      { numRuns: 300 },
    )
    // Garbled data: words changed, cut short or lengthened; the two agree on every one.
    const garbled = fc
      .tuple(
        result,
        fc.nat({ max: 20 }),
        fc.oneof(
          fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
          fc.bigInt({ min: 0n, max: 600n }),
          fc.constantFrom(2n, (1n << 53n) - 1n, 1n << 53n, 1n << 64n),
        ),
        fc.integer({ min: -70, max: 70 }),
      )
      .map(([r, at, w, cut]) => {
        const body = encodeFunctionResult({ abi: IApp.abi, functionName: 'transition', result: r }).slice(2)
        const words = body.match(/.{64}/g) ?? []
        if (at < words.length) words[at] = w.toString(16).padStart(64, '0')
        const joined = words.join('')
        const cutTo =
          cut < 0 ? joined.slice(0, Math.max(0, joined.length + cut * 2)) : joined + '00'.repeat(cut)
        return `0x${cutTo}` as Hex
      })
    fc.assert(
      fc.property(garbled, (data) => {
        const want = decode(data)
        const got = outcome(() => decodeTransitionResult(data))
        const fromBytes = outcome(() => decodeTransitionResultBytes(hexToBytes(data)))
        if ('error' in want) {
          assert.ok('error' in got, `viem refused ${data}: ${want.error}`)
          assert.ok('error' in fromBytes, `viem refused ${data}: ${want.error}`)
        } else {
          assert.deepEqual(got, want)
          assert.deepEqual(fromBytes, want)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
