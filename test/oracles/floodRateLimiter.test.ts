import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { ChanvmError } from '../../engine/errors.ts'
import { createSignerRateLimiter } from '../../oracles/mqtt/createSignerRateLimiter.ts'

describe('signer rate limiter: bounded work per signer and in total, noisiest first', () => {
  const options = { perSignerPerSec: 10, perSignerBurst: 40, totalPerSec: 100, totalBurst: 200 }

  it('never accepts more than burst + rate x elapsed per signer, nor checks more in total (random arrivals, random verdicts)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            signer: fc.integer({ min: 0, max: 30 }),
            gapMs: fc.integer({ min: 0, max: 50 }),
            verified: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3_000 },
        ),
        (arrivals) => {
          const limiter = createSignerRateLimiter(options)
          let now = 0
          const accepted = new Map<number, number>()
          let total = 0
          for (const a of arrivals) {
            now += a.gapMs
            if (!limiter.admit(`s${a.signer}`, now)) continue
            total++
            limiter.settle(`s${a.signer}`, a.verified, now)
            if (a.verified) accepted.set(a.signer, (accepted.get(a.signer) ?? 0) + 1)
          }
          const seconds = now / 1000
          for (const [, n] of accepted)
            assert.ok(n <= options.perSignerBurst / 2 + options.perSignerPerSec * seconds + 1e-9)
          assert.ok(total <= options.totalBurst + options.totalPerSec * seconds + 1e-9)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('forgeries claiming a device never cost it: below the total rate every one of its valid messages is checked, whatever its unverified budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 80 }),
        fc.integer({ min: 1, max: 5 }),
        (floodPerSec, validPerSec) => {
          const limiter = createSignerRateLimiter({
            ...options,
            perTopicUnverifiedPerSec: 5,
            perTopicUnverifiedBurst: 20,
          })
          // The victim is a known device: one of its readings verified before the flood.
          if (limiter.admit('victim', 0)) limiter.settle('victim', true, 0)
          let refusedValid = 0
          let valid = 0
          for (let t = 1; t < 20_000; t++) {
            const floods = Math.floor(((t + 1) * floodPerSec) / 1000) - Math.floor((t * floodPerSec) / 1000)
            for (let i = 0; i < floods; i++)
              if (limiter.admit('victim', t)) limiter.settle('victim', false, t)
            if (t % Math.floor(1000 / validPerSec) === 0) {
              valid++
              if (limiter.admit('victim', t)) limiter.settle('victim', true, t)
              else refusedValid++
            }
          }
          assert.ok(valid > 0)
          assert.equal(refusedValid, 0)
        },
      ),
      { numRuns: 30 },
    )
  })

  it('quiet signers keep getting through while a noisy one and a thousand new ids flood', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.integer({ min: 500, max: 5_000 }),
        (seed, floodPerSec) => {
          const limiter = createSignerRateLimiter(options)
          // The quiet devices were known before the flood (their buckets are full).
          const quiet = ['q0', 'q1', 'q2']
          for (const q of quiet) if (limiter.admit(q, 0)) limiter.settle(q, true, 0)
          let rnd = seed
          const next = () => (rnd = (rnd * 1_103_515_245 + 12_345) % 2 ** 31)
          let refusedQuiet = 0
          let admittedFlood = 0
          let floodCount = 0
          // Ten seconds: the flood every 1000/floodPerSec ms, each quiet device twice a second.
          for (let t = 10_000; t < 20_000; t += 1) {
            const floods = Math.floor(((t + 1) * floodPerSec) / 1000) - Math.floor((t * floodPerSec) / 1000)
            for (let i = 0; i < floods; i++) {
              const claim = next() % 2 === 0 ? 'noisy' : `forged-${next() % 1000}`
              floodCount++
              if (limiter.admit(claim, t)) {
                admittedFlood++
                limiter.settle(claim, false, t)
              }
            }
            if (t % 500 === 0)
              for (const q of quiet) {
                if (limiter.admit(q, t)) limiter.settle(q, true, t)
                else refusedQuiet++
              }
          }
          assert.equal(refusedQuiet, 0)
          assert.ok(admittedFlood < floodCount, 'the flood is cut')
          assert.ok(admittedFlood <= options.totalBurst + options.totalPerSec * 10)
        },
      ),
      { numRuns: 20 },
    )
  })

  it('forgeries in flight (admitted, not yet judged) never lower what the device they claim may have accepted', () => {
    // Slow refill: every token counted below is one the bucket held.
    const limiter = createSignerRateLimiter({
      perSignerPerSec: 0.001,
      perSignerBurst: 10,
      perTopicInFlight: 20,
    })
    // A new signer starts with half its bucket: 5. One valid reading proves the device (4 left).
    assert.ok(limiter.admit('device', 0))
    limiter.settle('device', true, 0)
    // More forgeries claiming it are in flight than its own bucket holds.
    const forgeries = 8
    for (let i = 0; i < forgeries; i++) assert.ok(limiter.admit('device', 1), `forgery ${i} admitted`)
    // Its valid reading arriving meanwhile is admitted.
    assert.ok(limiter.admit('device', 2), 'the valid reading is admitted while forgeries are in flight')
    limiter.settle('device', true, 2)
    for (let i = 0; i < forgeries; i++) limiter.settle('device', false, 3)
    // The forgeries cost it nothing: 3 more valid readings fit its bucket, not one more.
    for (let i = 0; i < 3; i++) {
      assert.ok(limiter.admit('device', 4), `valid reading ${i} admitted after the forgeries`)
      limiter.settle('device', true, 4)
    }
    assert.equal(limiter.admit('device', 4), false)
  })

  it('refuses a message on a topic that has perTopicInFlight messages waiting for their verdict, and no other', () => {
    const limiter = createSignerRateLimiter({ perTopicInFlight: 5 })
    for (let i = 0; i < 5; i++) assert.ok(limiter.admit('flooded', 0))
    assert.equal(limiter.admit('flooded', 0), false)
    assert.ok(limiter.admit('quiet', 0), 'another topic is not held up')
    limiter.settle('flooded', false, 1)
    assert.ok(limiter.admit('flooded', 1), 'a judged message frees its place')
    assert.equal(limiter.admit('flooded', 1), false)
    limiter.release('flooded')
    assert.ok(limiter.admit('flooded', 1), 'a message that will not be judged frees its place')
  })

  it('refuses nonsense options with INVALID_ARGUMENT', () => {
    for (const bad of [
      { perSignerPerSec: 0 },
      { totalBurst: -1 },
      { maxSigners: Number.NaN },
      { perTopicInFlight: 0 },
    ])
      assert.throws(
        () => createSignerRateLimiter(bad),
        (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
      )
  })

  it('forgets the least recently seen signer beyond maxSigners', () => {
    const limiter = createSignerRateLimiter({ maxSigners: 100 })
    for (let i = 0; i < 1_000; i++) limiter.admit(`id-${i}`, i)
    assert.equal(limiter.size(), 100)
  })
})
