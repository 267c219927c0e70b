import { strict as assert } from 'node:assert'
import { p256 } from '@noble/curves/nist.js'
import fc from 'fast-check'
import { bytesToHex, hexToBytes, keccak256, toHex, type Hex } from 'viem'
import {
  createInputValidator,
  verdictToRejection,
  type Equivocation,
  type InputValidator,
  type InputVerdict,
} from '../../oracles/mqtt/createInputValidator.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import {
  answerToEnvelope,
  envelopeToSigned,
  getSignerId,
  hashReading,
  signAnswer,
  textToBytes32,
  type Envelope,
} from '../../oracles/message/index.ts'
import {
  CHAIN,
  deviceKeys,
  hostileCaseArb,
  knownDevices,
  knownOracles,
  NOW_MS,
  NOW_S,
  oracleKey,
  validAnswer,
  validReading,
} from './hostile.ts'

const newValidator = (over: Partial<Parameters<typeof createInputValidator>[0]> = {}): InputValidator =>
  createInputValidator({
    chainId: CHAIN,
    devices: knownDevices,
    oracles: knownOracles,
    now: () => NOW_MS,
    ...over,
  })
const send = (v: InputValidator, e: { device: string }) =>
  v.check(readingTopic(e.device as Hex), JSON.stringify(e))
const digestOf = (e: object): Hex => {
  const c = envelopeToSigned(e as Envelope)
  if (c?.type !== 'reading') throw new Error('not a reading')
  return hashReading(c.signed.chainId, c.signed.reading)
}
/** A forged copy: one bit of r flipped, so the signature no longer verifies. */
const forge = <T extends { signature: string }>(e: T): T => {
  const b = hexToBytes(e.signature as Hex)
  b[5] = (b[5] ?? 0) ^ 0x10
  return { ...e, signature: bytesToHex(b) }
}

describe('input validation pipeline: hostile payloads', function () {
  it('thousands of malformed and hostile payloads are each rejected with the right reason, and a valid one still passes', () => {
    const v = newValidator()
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(hostileCaseArb(), (c) => {
        const verdict = v.check(c.topic, c.payload)
        seen.set(c.expect, (seen.get(c.expect) ?? 0) + 1)
        if (c.expect === 'accept') return verdict.ok
        return (
          !verdict.ok && verdict.reason === c.expect && verdictToRejection(verdict.verdict) === verdict.reason
        )
      }),
      { numRuns: 3_000, seed: 0x0c4a5 },
    )
    for (const reason of ['schema', 'signature', 'stale', 'future', 'wrong-chain', 'unknown-signer', 'topic'])
      assert.ok((seen.get(reason) ?? 0) > 20, `too few ${reason} cases: ${seen.get(reason)}`)
    for (const curve of ['secp256k1', 'p256'] as const) assert.equal(send(v, validReading(curve)).ok, true)
    assert.equal(v.memory().streams, 2, 'only the two accepted devices hold a mark')
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
          return !verdict.ok && (retained ? verdict.verdict === 'retained' : true)
        },
      ),
      { numRuns: 2_000, seed: 7 },
    )
    assert.deepEqual(v.memory(), { remembered: 0, streams: 0 })
  })
})

describe('input validation pipeline: duplicates, equivocation and replays', function () {
  it('an exact copy is a duplicate, another value at a taken sequence an equivocation, a forgery bad-signature, an unseen older sequence inside the window accepted once, one below it stale-sequence', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'secp256k1' | 'p256'>('secp256k1', 'p256'),
        fc.bigInt({ min: 1n, max: 1000n }),
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.bigInt({ min: -5n, max: 5n }).filter((d) => d !== 0n),
        (curve, seq, back, delta) => {
          const v = newValidator()
          const e = validReading(curve, { sequence: seq + 3000n })
          const first = send(v, e)
          const again = send(v, e)
          const forged = send(v, forge(e))
          const other = validReading(curve, { sequence: seq + 3000n, value: 4_000n + delta })
          const equivocation = send(v, other)
          const late = validReading(curve, { sequence: seq + 3000n - (back % 1023n) - 1n })
          const lateFirst = send(v, late)
          const lateAgain = send(v, late)
          const older = send(v, validReading(curve, { sequence: seq + 3000n - 1024n - back }))
          const newer = send(v, validReading(curve, { sequence: seq + 3001n }))
          const pick = (r: InputVerdict) => (r.ok ? 'accept' : r.verdict)
          assert.equal(pick(first), 'accept')
          assert.equal(pick(again), 'duplicate')
          assert.equal(pick(forged), 'bad-signature')
          assert.equal(pick(equivocation), 'equivocation')
          assert.ok(!equivocation.ok && equivocation.reason === 'replay')
          assert.deepEqual(
            !equivocation.ok &&
              equivocation.equivocation && [
                equivocation.equivocation.accepted,
                equivocation.equivocation.offered,
                equivocation.equivocation.sequence,
              ],
            [digestOf(e), digestOf(other), seq + 3000n],
          )
          assert.equal(pick(lateFirst), 'accept')
          assert.equal(pick(lateAgain), 'duplicate')
          assert.equal(pick(older), 'stale-sequence')
          assert.equal(pick(newer), 'accept')
          // The exact copy of the first is still a duplicate after all that.
          assert.equal(pick(send(v, e)), 'duplicate')
          return true
        },
      ),
      { numRuns: 60, seed: 11 },
    )
  })

  it('the same reading signed again (ES256 with another nonce, other signature bytes) is a duplicate, not an equivocation', () => {
    const v = newValidator()
    const e = validReading('p256')
    assert.equal(send(v, e).ok, true)
    const resigned = p256.sign(hexToBytes(digestOf(e)), hexToBytes(deviceKeys.p256.privateKey), {
      prehash: true,
      lowS: true,
      extraEntropy: true,
    })
    const copy = { ...e, signature: bytesToHex(resigned) }
    assert.notEqual(copy.signature, e.signature)
    const r = send(v, copy)
    assert.equal(r.ok ? 'accept' : r.verdict, 'duplicate')
  })

  it('equivocations are reported with both digests, counted, and the detail names them', () => {
    const seen: Equivocation[] = []
    const v = newValidator({
      onEquivocation: (e) => {
        seen.push(e)
        throw new Error('a throwing hook changes nothing')
      },
    })
    const a = validReading('secp256k1', { sequence: 77_000n, value: 1n })
    const b = validReading('secp256k1', { sequence: 77_000n, value: 2n })
    assert.equal(send(v, a).ok, true)
    const r = send(v, b)
    assert.ok(!r.ok)
    assert.equal(r.verdict, 'equivocation')
    assert.match(r.detail, /^equivocation: /)
    assert.ok(r.detail.includes(digestOf(a)) && r.detail.includes(digestOf(b)), r.detail)
    assert.equal(seen.length, 1)
    assert.deepEqual(
      [seen[0]?.signer, seen[0]?.accepted, seen[0]?.offered, seen[0]?.sequence],
      [knownDevices[0], digestOf(a), digestOf(b), 77_000n],
    )
    assert.equal(send(v, b).ok, false, 'the second message stays refused')
    const stats = v.stats()
    assert.equal(stats.accepted, 1)
    assert.equal(stats.rejected.equivocation, 2)
  })

  it('the order of checks: a stale copy is stale before any signature work, a forged copy at a taken sequence is bad-signature', () => {
    const v = newValidator()
    const e = validReading('secp256k1', { sequence: 5_000n })
    assert.equal(send(v, e).ok, true)
    const pick = (r: InputVerdict) => (r.ok ? 'accept' : r.verdict)
    assert.equal(pick(send(v, forge(e))), 'bad-signature')
    const later = createInputValidator({
      chainId: CHAIN,
      devices: knownDevices,
      now: () => NOW_MS + 3_600_000,
    })
    assert.equal(pick(send(later, e)), 'stale')
    assert.equal(pick(send(v, { ...e, extra: 1 } as typeof e)), 'schema')
    assert.equal(pick(v.check(readingTopic(e.device as Hex), JSON.stringify(e) + ' x')), 'malformed')
  })

  it('nothing unverified touches the replay memory: forged messages with high sequences or new signers leave it as it was', () => {
    const v = newValidator({ devices: 'any', maxStreams: 3 })
    assert.equal(send(v, validReading('secp256k1', { sequence: 10n })).ok, true)
    const before = v.memory()
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.boolean(), (sequence, p) => {
        const r = send(v, forge(validReading(p ? 'p256' : 'secp256k1', { sequence })))
        return !r.ok && r.verdict === 'bad-signature'
      }),
      { numRuns: 50, seed: 3 },
    )
    assert.deepEqual(v.memory(), before)
    assert.equal(send(v, validReading('secp256k1', { sequence: 11n })).ok, true)
  })

  it('answers are kept per (oracle, question): a repeat is a duplicate, an earlier timestamp accepted once (window), another answer at the same timestamp an equivocation, another question fresh', () => {
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
    const pick = (r: InputVerdict) => (r.ok ? 'accept' : r.verdict)
    assert.equal(pick(v.check(a.topic, a.payload)), 'duplicate')
    // An earlier timestamp not seen yet is inside the window (a late answer): accepted once.
    const earlier = validAnswer(q1, NOW_S - 5n)
    assert.equal(pick(v.check(earlier.topic, earlier.payload)), 'accept')
    assert.equal(pick(v.check(earlier.topic, earlier.payload)), 'duplicate')
    // The same oracle, question and timestamp with another answer.
    const resigned = answerToEnvelope(
      signAnswer({
        chainId: CHAIN,
        key: oracleKey,
        answer: { questionId: q1, answer: textToBytes32('lost'), timestamp: NOW_S },
      }),
      getSignerId(oracleKey),
    )
    const eq = v.check(a.topic, JSON.stringify(resigned))
    assert.equal(pick(eq), 'equivocation')
    const other = validAnswer(q2, NOW_S - 5n)
    assert.equal(v.check(other.topic, other.payload).ok, true)
  })

  it('a payload naming a key twice is malformed, even when the copies are spelled differently or hold the same value', () => {
    const v = newValidator()
    const e = validReading('secp256k1')
    const json = JSON.stringify(e)
    const cases = [
      json.replace('"v":1,', '"v":1,"v":1,'),
      json.replace('"v":1,', '"v":1,"\\u0076":1,'),
      json.replace('"value":', '"\\u0076alue":"1","value":'),
      json.slice(0, -1) + `,"sequence":"${e.sequence}"}`,
    ]
    for (const payload of cases) {
      const r = v.check(readingTopic(e.device as Hex), payload)
      assert.ok(!r.ok, payload)
      assert.equal(r.verdict, 'malformed')
      assert.equal(r.reason, 'schema')
      assert.match(r.detail, /duplicate key "(v|value|sequence)" at offset \d+/)
    }
    assert.equal(v.stats().rejected.malformed, cases.length)
    assert.equal(send(v, e).ok, true, 'the same message without the second key passes')
  })

  it('forget undoes the latest acceptance only: the copy is accepted again once, an older one cannot be undone', () => {
    const v = newValidator()
    const a = validReading('p256', { sequence: 300n })
    const b = validReading('p256', { sequence: 301n })
    const ra = send(v, a)
    const rb = send(v, b)
    assert.ok(ra.ok && rb.ok)
    assert.equal(v.forget(ra.input), false, 'a is no longer the latest')
    assert.equal(v.forget(rb.input), true)
    assert.equal(v.forget(rb.input), false, 'already undone')
    assert.equal(send(v, b).ok, true, 'the broker copy is accepted')
    const again = send(v, b)
    assert.equal(again.ok ? 'accept' : again.verdict, 'duplicate')
    assert.equal(v.stats().accepted, 2)
  })

  it('after 1,000 fresh signers an accepted reading is never accepted again; signers beyond the bound are too-many-signers', function () {
    this.timeout(120_000)
    const v = newValidator({ devices: 'any', maxStreams: 500, maxRemembered: 50 })
    const e = validReading('secp256k1', { sequence: 42n })
    assert.equal(send(v, e).ok, true)
    const counts = new Map<string, number>()
    for (let i = 1; i <= 1_000; i++) {
      const key = { curve: 'secp256k1' as const, privateKey: toHex(i + 1_000_000, { size: 32 }) }
      const r = send(v, validReading('secp256k1', { key, sequence: 1n }))
      const name = r.ok ? 'accept' : r.verdict
      counts.set(name, (counts.get(name) ?? 0) + 1)
    }
    assert.deepEqual(Object.fromEntries(counts), { accept: 499, 'too-many-signers': 501 })
    assert.deepEqual(v.memory(), { remembered: 50, streams: 500 })
    const copy = send(v, e)
    assert.equal(copy.ok ? 'accept' : copy.verdict, 'stale-sequence')
    const old = send(v, validReading('secp256k1', { sequence: 41n }))
    assert.equal(old.ok ? 'accept' : old.verdict, 'accept', 'a late reading inside the window')
    const again = send(v, validReading('secp256k1', { sequence: 41n }))
    assert.equal(again.ok ? 'accept' : again.verdict, 'duplicate')
    assert.equal(send(v, validReading('secp256k1', { sequence: 43n })).ok, true, 'the device goes on')
  })

  it('misuse throws: negative windows, empty bounds', () => {
    assert.throws(() => createInputValidator({ chainId: CHAIN, maxAgeSec: -1 }), /maxAgeSec/)
    assert.throws(() => createInputValidator({ chainId: CHAIN, maxStreams: 0 }), /maxStreams/)
    assert.throws(() => createInputValidator({ chainId: CHAIN, maxRemembered: 0.5 }), /maxRemembered/)
  })
})
