import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { keccak256, toHex, type Hex } from 'viem'
import { createInputValidator, type InputValidator } from '../../oracles/mqtt/createInputValidator.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import {
  CHAIN,
  hostileCaseArb,
  knownDevices,
  knownOracles,
  NOW_MS,
  NOW_S,
  validAnswer,
  validReading,
} from './hostile.ts'

const newValidator = (): InputValidator =>
  createInputValidator({ chainId: CHAIN, devices: knownDevices, oracles: knownOracles, now: () => NOW_MS })
const send = (v: InputValidator, e: { device: string }) =>
  v.check(readingTopic(e.device as Hex), JSON.stringify(e))

describe('input validation pipeline: hostile payloads', function () {
  it('thousands of malformed and hostile payloads are each rejected with the right reason, and a valid one still passes', () => {
    const v = newValidator()
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(hostileCaseArb(), (c) => {
        const verdict = v.check(c.topic, c.payload)
        seen.set(c.expect, (seen.get(c.expect) ?? 0) + 1)
        if (c.expect === 'accept') return verdict.ok
        return !verdict.ok && verdict.reason === c.expect
      }),
      { numRuns: 3_000, seed: 0x0c4a5 },
    )
    for (const reason of ['schema', 'signature', 'stale', 'future', 'wrong-chain', 'unknown-signer', 'topic'])
      assert.ok((seen.get(reason) ?? 0) > 20, `too few ${reason} cases: ${seen.get(reason)}`)
    for (const curve of ['secp256k1', 'p256'] as const) assert.equal(send(v, validReading(curve)).ok, true)
  })

  it('random payloads on random topics never throw and never pass', () => {
    const v = newValidator()
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }),
        fc.oneof(fc.string({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 })),
        fc.boolean(),
        (topic, payload, retained) => {
          const verdict = v.check(topic, payload, { retained })
          return !verdict.ok && (retained ? verdict.reason === 'retained' : true)
        },
      ),
      { numRuns: 2_000, seed: 7 },
    )
  })

  it('replays: the same reading again is a duplicate; an older or equal sequence is a replay', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'secp256k1' | 'p256'>('secp256k1', 'p256'),
        fc.bigInt({ min: 1n, max: 1000n }),
        fc.bigInt({ min: 0n, max: 1000n }),
        (curve, seq, back) => {
          const v = newValidator()
          const e = validReading(curve, { sequence: seq + 1000n })
          const first = send(v, e)
          const again = send(v, e)
          const older = send(v, validReading(curve, { sequence: seq + 1000n - back - 1n }))
          const sameSeqOtherValue = send(v, validReading(curve, { sequence: seq + 1000n, value: 1n }))
          const newer = send(v, validReading(curve, { sequence: seq + 1001n }))
          return (
            first.ok &&
            !again.ok &&
            again.reason === 'duplicate' &&
            !older.ok &&
            older.reason === 'replay' &&
            !sameSeqOtherValue.ok &&
            sameSeqOtherValue.reason === 'duplicate' &&
            newer.ok
          )
        },
      ),
      { numRuns: 100, seed: 11 },
    )
  })

  it('answers are kept per (oracle, question): a repeat is a duplicate, an earlier timestamp a replay, another question is fresh', () => {
    const v = newValidator()
    const q1 = keccak256(toHex('TRACK-1'))
    const q2 = keccak256(toHex('TRACK-2'))
    const a = validAnswer(q1)
    const accepted = v.check(a.topic, a.payload)
    assert.equal(accepted.ok, true)
    if (accepted.ok) {
      assert.equal(accepted.input.kind, 'answer')
      assert.equal(accepted.input.stream, q1)
      assert.equal(accepted.input.sequence, NOW_S)
    }
    assert.deepEqual(pick(v.check(a.topic, a.payload)), 'duplicate')
    const earlier = validAnswer(q1, NOW_S - 5n)
    assert.deepEqual(pick(v.check(earlier.topic, earlier.payload)), 'replay')
    const other = validAnswer(q2, NOW_S - 5n)
    assert.equal(v.check(other.topic, other.payload).ok, true)
  })

  it('a retained message is refused before anything else, even when valid', () => {
    const v = newValidator()
    const e = validReading('p256')
    assert.deepEqual(
      pick(v.check(readingTopic(e.device as Hex), JSON.stringify(e), { retained: true })),
      'retained',
    )
    assert.equal(send(v, e).ok, true, 'the same message, not retained, is fresh')
  })

  it('nothing but an accepted message changes the replay state', () => {
    const v = newValidator()
    // A forged message with a high sequence must not block the real device's next reading.
    const forged = { ...validReading('secp256k1', { sequence: 5_000_000n }) }
    const bad = {
      ...forged,
      signature: forged.signature.slice(0, -4) + (forged.signature.endsWith('1b') ? '001c' : '001b'),
    }
    assert.notEqual(pick(send(v, bad)), 'accept')
    assert.equal(send(v, validReading('secp256k1', { sequence: 4_000_000n })).ok, true)
  })

  it('misuse throws: negative windows', () => {
    assert.throws(() => createInputValidator({ chainId: CHAIN, maxAgeSec: -1 }), /maxAgeSec/)
  })
})

function pick(v: ReturnType<InputValidator['check']>): string {
  return v.ok ? 'accept' : v.reason
}
