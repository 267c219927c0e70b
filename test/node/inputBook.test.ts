import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { createInputBook } from '../../node/createInputBook.ts'
import { countMapIterators } from '../support/countMapIterators.ts'

const device = `0x${'00'.repeat(12)}${'ab'.repeat(20)}` as Hex

/** A verified reading of `device` at `sequence` (the book keeps what a source verified; it checks nothing). */
const reading = (sequence: bigint): VerifiedInput => ({
  kind: 'reading',
  signer: device,
  sequence,
  stream: 'readings',
  chainId: 31337n,
  message: {
    device,
    sequence,
    timestamp: 1_700_000_000n,
    kind: `0x${'00'.repeat(32)}`,
    value: 4_000n,
    unit: `0x${'00'.repeat(32)}`,
  },
  digest: `0x${'00'.repeat(32)}`,
  curve: 'secp256k1',
  signature: `0x${'11'.repeat(65)}`,
  publicKey: undefined,
  topic: `chanvm/v1/devices/${device}/readings`,
  receivedAt: 0,
})

describe('input book: readings kept per device', () => {
  it('keeps the highest maxPerDevice sequences of a device, whatever order they arrive in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.bigInt({ min: 0n, max: 40n }), { maxLength: 60 }),
        (max, arrivals) => {
          const book = createInputBook({ maxPerDevice: max })
          // The model: every sequence kept, then all but the highest `max` dropped, one at a time.
          const kept = new Set<bigint>()
          for (const s of arrivals) {
            book.add(reading(s))
            kept.add(s)
            if (kept.size > max) kept.delete([...kept].reduce((a, b) => (b < a ? b : a)))
          }
          const want = [...kept].sort((a, b) => (a < b ? -1 : 1))
          const got = book.readings(device, -1n).map((r) => r.reading.sequence)
          assert.deepEqual(got, want)
          assert.equal(book.size(), want.length)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a full device drops its oldest reading without a scan of its sequences per reading', () => {
    const max = 10_000
    const book = createInputBook({ maxPerDevice: max })
    for (let s = 1n; s <= BigInt(max); s++) book.add(reading(s))
    // Spreading a full device's keys to find its least sequence costs a walk over 10,000 keys on
    // every reading: count the iterators made over the book's maps while 1,000 more arrive.
    const iterators = countMapIterators(() => {
      for (let s = BigInt(max) + 1n; s <= BigInt(max) + 1_000n; s++) book.add(reading(s))
    })
    assert.equal(iterators, 0)
    const seqs = book.readings(device, -1n).map((r) => r.reading.sequence)
    assert.equal(seqs.length, max)
    assert.equal(seqs[0], 1_001n)
    assert.equal(seqs.at(-1), BigInt(max) + 1_000n)
  })
})
