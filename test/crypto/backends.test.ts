import assert from 'node:assert/strict'
import fc from 'fast-check'
import { secp256k1Backends } from '../../engine/crypto/secp256k1Backend.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const key = bytes32.filter((k) => {
  const n = BigInt(`0x${Buffer.from(k).toString('hex')}`)
  return n > 0n && n < N
})

describe('crypto: native libsecp256k1 and the pure-JS fallback agree', () => {
  const { native, noble } = secp256k1Backends

  it('the native addon loads on this machine', function () {
    if (native === undefined && process.env.CHANVM_SECP256K1 === 'noble') this.skip()
    assert.ok(
      native !== undefined,
      'secp256k1/bindings did not load: signing and the sandbox ecrecover run on the slow path',
    )
  })

  it('same signatures (RFC 6979, low s) and the same recovered keys, for any key and digest', function () {
    if (native === undefined) this.skip()
    fc.assert(
      fc.property(key, bytes32, (k, d) => {
        const a = native!.sign(d, k)
        const b = noble.sign(d, k)
        assert.deepEqual(Buffer.from(a.compact), Buffer.from(b.compact))
        assert.equal(a.recid, b.recid)
        assert.deepEqual(
          Buffer.from(native!.recover(d, a.compact, a.recid)!),
          Buffer.from(noble.recover(d, b.compact, b.recid)!),
        )
      }),
      { numRuns: 300 },
    )
  })

  it('both refuse the same malformed signatures (r or s zero or not below the order)', function () {
    if (native === undefined) this.skip()
    const order = Buffer.from(N.toString(16), 'hex')
    fc.assert(
      fc.property(
        bytes32,
        bytes32,
        fc.constantFrom('r0', 's0', 'rN', 'sN'),
        fc.integer({ min: 0, max: 1 }),
        (d, x, bad, recid) => {
          const sig = new Uint8Array(64)
          sig.set(x, 0)
          sig.set(x, 32)
          if (bad === 'r0') sig.fill(0, 0, 32)
          if (bad === 's0') sig.fill(0, 32, 64)
          if (bad === 'rN') sig.set(order, 0)
          if (bad === 'sN') sig.set(order, 32)
          assert.equal(native!.recover(d, sig, recid), undefined)
          assert.equal(noble.recover(d, sig, recid), undefined)
        },
      ),
      { numRuns: 200 },
    )
  })
})
