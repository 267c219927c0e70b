import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { toHex, type Hex } from 'viem'
import { createInputValidator } from '../../oracles/mqtt/createInputValidator.ts'
import { createReplayMemory, type ReplayVerdict } from '../../oracles/mqtt/createReplayMemory.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { getSignerId, type OracleKey, type ReadingEnvelope } from '../../oracles/message/index.ts'
import { CHAIN, NOW_MS, validReading } from './hostile.ts'
import { countMapIterators } from '../support/countMapIterators.ts'

type Op =
  { op: 'take'; stream: number; sequence: number; digest: number } | { op: 'forget-latest'; stream: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      stream: fc.nat(5),
      sequence: fc.nat(12),
      digest: fc.nat(2),
    }),
    weight: 9,
  },
  { arbitrary: fc.record({ op: fc.constant('forget-latest' as const), stream: fc.nat(7) }), weight: 1 },
)
const digestHex = (i: number): Hex => toHex(i, { size: 32 })

describe('replay memory: a (stream, sequence) is never accepted twice', function () {
  it('any interleaving of takes and forgets, with tiny bounds, agrees with a model that remembers everything', () => {
    const seen = new Map<string, number>()
    const count = (name: string) => seen.set(name, (seen.get(name) ?? 0) + 1)
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(opArb, { maxLength: 200 }),
        (maxRemembered, maxStreams, window, ops) => {
          const memory = createReplayMemory({ maxRemembered, maxStreams, window })
          // The model: every acceptance not undone, per stream in order.
          const accepted = new Map<string, { sequence: bigint; digest: Hex }[]>()
          for (const o of ops) {
            const stream = `s${o.stream}`
            const list = accepted.get(stream) ?? []
            if (o.op === 'forget-latest') {
              const last = list[list.length - 1]
              if (last === undefined) continue
              const undone = memory.forget(stream, last.sequence, last.digest)
              if (undone) list.pop()
              count(undone ? 'forgotten' : 'not forgotten')
              if (list.length === 0) accepted.delete(stream)
              continue
            }
            const sequence = BigInt(o.sequence)
            const digest = digestHex(o.digest)
            const r: ReplayVerdict = memory.take(stream, sequence, digest)
            count(r.verdict)
            const same = list.find((a) => a.sequence === sequence)
            const max = list.reduce<bigint | undefined>(
              (m, a) => (m === undefined || a.sequence > m ? a.sequence : m),
              undefined,
            )
            switch (r.verdict) {
              case 'accepted':
                assert.equal(same, undefined, `${stream}/${sequence} accepted twice`)
                assert.ok(max === undefined || sequence > max - BigInt(window), 'accepted below the window')
                if (max !== undefined && sequence < max) count('accepted late')
                accepted.set(stream, [...list, { sequence, digest }])
                break
              case 'duplicate':
                assert.equal(same?.digest, digest)
                break
              case 'equivocation':
                assert.equal(same?.digest, r.accepted)
                assert.notEqual(r.accepted, digest)
                break
              case 'stale-sequence':
                assert.equal(r.mark, max)
                assert.ok(max !== undefined && sequence <= max)
                // Taken inside the window (its digest forgotten), or below the window.
                assert.equal(r.taken, sequence > max - BigInt(window))
                if (r.taken) assert.notEqual(same, undefined)
                break
              case 'too-many-signers':
                assert.equal(list.length, 0)
                assert.equal(accepted.size, maxStreams)
                break
            }
            // Liveness: a sequence not taken inside the window, or a new stream with room, is always accepted.
            if (
              same === undefined &&
              (max !== undefined ? sequence > max - BigInt(window) : accepted.size < maxStreams)
            )
              assert.equal(r.verdict, 'accepted')
            const size = memory.size()
            assert.ok(size.remembered <= maxRemembered && size.streams <= maxStreams)
            assert.equal(size.streams, accepted.size)
          }
          return true
        },
      ),
      { numRuns: 3_000, seed: 0x5eed },
    )
    for (const name of [
      'accepted',
      'duplicate',
      'equivocation',
      'stale-sequence',
      'too-many-signers',
      'forgotten',
      'accepted late',
    ])
      assert.ok((seen.get(name) ?? 0) >= 50, `too few ${name}: ${seen.get(name)}`)
  })

  it('the most recently used message stays remembered: a copy kept in use is a duplicate after any number of others', () => {
    const memory = createReplayMemory({ maxRemembered: 3, maxStreams: 1_000 })
    assert.equal(memory.take('a', 1n, digestHex(1)).verdict, 'accepted')
    for (let i = 0; i < 500; i++) {
      assert.equal(memory.take(`other${i}`, 1n, digestHex(9)).verdict, 'accepted')
      assert.equal(memory.take('a', 1n, digestHex(1)).verdict, 'duplicate')
    }
    assert.equal(memory.take('other0', 1n, digestHex(9)).verdict, 'stale-sequence', 'long evicted')
    assert.deepEqual(memory.size(), { remembered: 3, streams: 501 })
  })

  it('a full memory evicts its oldest message without a fresh scan of its keys per eviction', function () {
    this.timeout(60_000)
    const max = 50_000
    const memory = createReplayMemory({ maxRemembered: max })
    const streams = Array.from({ length: 200 }, (_, i) => `s${i}`)
    const message = (i: number) =>
      [streams[i % 200] as string, BigInt(Math.floor(i / 200) + 1), digestHex(i)] as const
    let n = 0
    const take = (count: number) => {
      for (let k = 0; k < count; k++, n++) {
        const verdict = memory.take(...message(n)).verdict
        if (verdict !== 'accepted') assert.fail(`message ${n}: ${verdict}`)
      }
    }
    take(max + 100_000)
    // A fresh keys() per eviction steps over every hole the earlier deletions left at the front of
    // the map (tens of microseconds each once full): count the iterators made while evicting.
    const iterators = countMapIterators(() => take(20_000))
    assert.deepEqual(memory.size(), { remembered: max, streams: 200 })
    assert.ok(iterators <= 1, `${iterators} iterators over the map for 20,000 evictions`)
    // Still least recently used first: the oldest message kept and the newest are remembered, the
    // one before the oldest is not (inside its stream's window: a stale sequence, taken).
    assert.equal(memory.take(...message(n - max)).verdict, 'duplicate')
    assert.equal(memory.take(...message(n - 1)).verdict, 'duplicate')
    assert.deepEqual(memory.take(...message(n - max - 1)), {
      verdict: 'stale-sequence',
      mark: BigInt(Math.floor((n - 1) / 200) + 1),
      taken: true,
    })
  })

  it('misuse throws: bounds below 1 or not integers', () => {
    assert.throws(() => createReplayMemory({ maxRemembered: 0 }), /maxRemembered/)
    assert.throws(() => createReplayMemory({ maxStreams: 1.5 }), /maxStreams/)
  })
})

describe('input validator: signed readings, copies and fresh signers beyond the bounds', function () {
  this.timeout(300_000)
  // Secret keys on alternating curves; the first 4 are the usual devices, the rest fresh signers.
  const keys: OracleKey[] = Array.from({ length: 40 }, (_, i) => ({
    curve: i % 2 === 0 ? 'secp256k1' : 'p256',
    privateKey: toHex(BigInt(i + 1) * 0x1_0000_0001n, { size: 32 }),
  }))
  const signed = new Map<string, ReadingEnvelope>()
  const reading = (k: number, sequence: number, value: number) => {
    const id = `${k}/${sequence}/${value}`
    let e = signed.get(id)
    if (e === undefined) {
      const key = keys[k] as OracleKey
      e = validReading(key.curve, { key, sequence: BigInt(sequence), value: BigInt(value) })
      signed.set(id, e)
    }
    return e
  }
  type Step =
    | { kind: 'reading'; k: number; sequence: number; value: number }
    | { kind: 'copy'; back: number }
    | { kind: 'fresh' }
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant('reading' as const),
        k: fc.nat(3),
        sequence: fc.integer({ min: 1, max: 4 }),
        value: fc.nat(1),
      }),
      weight: 3,
    },
    fc.record({ kind: fc.constant('copy' as const), back: fc.nat(30) }),
    fc.record({ kind: fc.constant('fresh' as const) }),
  )

  it('never accepts a (signer, sequence) twice, and a copy of an accepted reading never passes', () => {
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        (maxRemembered, maxStreams, replayWindow, steps) => {
          const v = createInputValidator({
            chainId: CHAIN,
            devices: 'any',
            now: () => NOW_MS,
            maxRemembered,
            maxStreams,
            replayWindow,
          })
          const sent: string[] = []
          const taken = new Set<string>()
          const acceptedPayloads = new Set<string>()
          let fresh = 4
          for (const s of steps) {
            let payload: string
            if (s.kind === 'copy') {
              const p = sent[sent.length - 1 - (s.back % Math.max(sent.length, 1))]
              if (p === undefined) continue
              payload = p
            } else if (s.kind === 'fresh') {
              if (fresh >= keys.length) continue
              payload = JSON.stringify(reading(fresh++, 1, 0))
            } else payload = JSON.stringify(reading(s.k, s.sequence, s.value))
            sent.push(payload)
            const e = JSON.parse(payload) as ReadingEnvelope
            const r = v.check(readingTopic(e.device as Hex), payload)
            const name = r.ok ? 'accept' : r.verdict
            seen.set(name, (seen.get(name) ?? 0) + 1)
            const id = `${e.device}/${e.sequence}`
            if (r.ok) {
              assert.ok(!taken.has(id), `${id} accepted twice`)
              assert.ok(!acceptedPayloads.has(payload))
              taken.add(id)
              acceptedPayloads.add(payload)
            } else {
              assert.ok(
                ['duplicate', 'equivocation', 'stale-sequence', 'too-many-signers'].includes(r.verdict),
                `${r.verdict}: ${r.detail}`,
              )
              if (r.verdict === 'duplicate') assert.ok(taken.has(id))
              if (r.verdict === 'too-many-signers') assert.equal(v.memory().streams, maxStreams)
            }
          }
          return true
        },
      ),
      { numRuns: 500, seed: 0xacce },
    )
    for (const name of ['accept', 'duplicate', 'equivocation', 'stale-sequence', 'too-many-signers'])
      assert.ok((seen.get(name) ?? 0) >= 10, `too few ${name}: ${seen.get(name)}`)
    console.log(`      verdicts: ${JSON.stringify(Object.fromEntries(seen))}`)
  })

  it('the fresh signers really are new streams', () => {
    assert.equal(new Set(keys.map((k) => getSignerId(k))).size, keys.length)
  })
})
