import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { ChanvmError } from '../../engine/errors.ts'
import { createSignerRateLimiter } from '../../oracles/mqtt/createSignerRateLimiter.ts'

describe('signer rate limiter: bounded work per signer and in total, noisiest first', () => {
  const options = { perSignerPerSec: 10, perSignerBurst: 40, totalPerSec: 100, totalBurst: 200 }

  it('never admits more than burst + rate x elapsed, per signer and in total (random arrivals)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ signer: fc.integer({ min: 0, max: 30 }), gapMs: fc.integer({ min: 0, max: 50 }) }),
          {
            minLength: 1,
            maxLength: 3_000,
          },
        ),
        (arrivals) => {
          const limiter = createSignerRateLimiter(options)
          let now = 0
          const admitted = new Map<number, number>()
          let total = 0
          for (const a of arrivals) {
            now += a.gapMs
            if (limiter.take(`s${a.signer}`, now)) {
              admitted.set(a.signer, (admitted.get(a.signer) ?? 0) + 1)
              total++
            }
          }
          const seconds = now / 1000
          for (const [, n] of admitted)
            assert.ok(n <= options.perSignerBurst / 2 + options.perSignerPerSec * seconds + 1e-9)
          assert.ok(total <= options.totalBurst + options.totalPerSec * seconds + 1e-9)
        },
      ),
      { numRuns: 200 },
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
          for (const q of quiet) limiter.take(q, 0)
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
              if (limiter.take(claim, t)) admittedFlood++
            }
            if (t % 500 === 0) for (const q of quiet) if (!limiter.take(q, t)) refusedQuiet++
          }
          assert.equal(refusedQuiet, 0)
          assert.ok(admittedFlood < floodCount, 'the flood is cut')
          assert.ok(admittedFlood <= options.totalBurst + options.totalPerSec * 10)
        },
      ),
      { numRuns: 20 },
    )
  })

  it('refuses nonsense options with INVALID_ARGUMENT', () => {
    for (const bad of [{ perSignerPerSec: 0 }, { totalBurst: -1 }, { maxSigners: Number.NaN }])
      assert.throws(
        () => createSignerRateLimiter(bad),
        (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
      )
  })

  it('forgets the least recently seen signer beyond maxSigners', () => {
    const limiter = createSignerRateLimiter({ maxSigners: 100 })
    for (let i = 0; i < 1_000; i++) limiter.take(`id-${i}`, i)
    assert.equal(limiter.size(), 100)
  })
})
