import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { bytesToHex, hexToBytes, keccak256, type Hex } from 'viem'
import { privateKeyToAddress, sign } from 'viem/accounts'
import { recoverDigestSigner, SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import { secp256k1Backends } from '../../engine/crypto/secp256k1Backend.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'

const N = SECP256K1_HALF_N * 2n + 1n
const toBig = (b: Uint8Array) => BigInt(bytesToHex(b))
const word = (n: bigint) => hexToBytes(`0x${n.toString(16).padStart(64, '0')}`)
const hmac = (key: Uint8Array, ...parts: Uint8Array[]) => {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const modPow = (b: bigint, e: bigint, m: bigint): bigint => {
  let r = 1n
  let x = b % m
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % m
    x = (x * x) % m
  }
  return r
}

/** RFC 6979 section 3.2 for secp256k1 and HMAC-SHA256 (qlen = hlen = 256), written out. */
function rfc6979Nonce(privateKey: Uint8Array, digest: Uint8Array): bigint {
  const x = word(toBig(privateKey))
  const h1 = word(toBig(digest) % N)
  let v: Uint8Array = new Uint8Array(32).fill(1)
  let k: Uint8Array = new Uint8Array(32)
  k = hmac(k, v, Uint8Array.of(0), x, h1)
  v = hmac(k, v)
  k = hmac(k, v, Uint8Array.of(1), x, h1)
  v = hmac(k, v)
  for (;;) {
    v = hmac(k, v)
    const t = toBig(v)
    if (t >= 1n && t < N) return t
    k = hmac(k, v, Uint8Array.of(0))
    v = hmac(k, v)
  }
}

/** ECDSA over the digest itself with the RFC 6979 nonce, then low s, as docs/signing.md states it. */
function referenceSign(
  privateKey: Uint8Array,
  digest: Uint8Array,
): { r: bigint; s: bigint; v: number; flipped: boolean } {
  const d = toBig(privateKey)
  const k = rfc6979Nonce(privateKey, digest)
  const R = secp256k1.Point.BASE.multiply(k).toAffine()
  const r = R.x % N
  let s = (modPow(k, N - 2n, N) * (toBig(digest) + r * d)) % N
  let parity = Number(R.y & 1n)
  const flipped = s > SECP256K1_HALF_N
  if (flipped) {
    s = N - s
    parity ^= 1
  }
  return { r, s, v: 27 + parity, flipped }
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const keyArb = bytes32.filter((k) => toBig(k) > 0n && toBig(k) < N)

describe('crypto: signatures are made as docs/signing.md says', () => {
  it('Keccak-256, not SHA3-256: the two hashes of the empty input in the doc are right, and differ', () => {
    const doc = readFileSync(new URL('../../docs/signing.md', import.meta.url), 'utf8')
    const keccak = /^keccak256\(""\) = (0x[0-9a-f]{64})$/m.exec(doc)?.[1]
    const sha3 = /^sha3_256\(""\)\s+= (0x[0-9a-f]{64})/m.exec(doc)?.[1]
    assert.equal(keccak, keccak256('0x'))
    assert.equal(sha3, `0x${createHash('sha3-256').update('').digest('hex')}`)
    assert.notEqual(keccak, sha3)
  })

  it('the digest is signed as it is, with the RFC 6979 (HMAC-SHA256) nonce, low s, v = 27 + parity, r and s padded', () => {
    let flips = 0
    fc.assert(
      fc.property(keyArb, bytes32, (key, digest) => {
        const ref = referenceSign(key, digest)
        const sig = signDigest(digest, key)
        assert.equal(sig, bytesToHex(new Uint8Array([...word(ref.r), ...word(ref.s), ref.v])))
        assert.equal(sig.length, 132)
        if (ref.flipped) flips++
        for (const backend of [secp256k1Backends.native, secp256k1Backends.noble]) {
          if (backend === undefined) continue
          const b = backend.sign(digest, key)
          assert.equal(bytesToHex(new Uint8Array([...b.compact, 27 + b.recid])), sig)
        }
      }),
      { numRuns: 400 },
    )
    // about half the raw signatures had a high s, so their s was replaced and their v flipped
    assert.ok(flips > 130 && flips < 270, `flips ${flips}`)
  })

  it('a digest at or above the order n: libsecp256k1 alone takes another nonce; chanvm reduces the digest, so both backends give the RFC 6979 signature, and every one recovers the key address', function () {
    // The addon itself, without chanvm's reduction (skipped where it does not load).
    let raw: ((d: Uint8Array, k: Uint8Array) => { signature: Uint8Array; recid: number }) | undefined
    try {
      const lib = createRequire(import.meta.url)('secp256k1/bindings') as {
        ecdsaSign(d: Uint8Array, k: Uint8Array): { signature: Uint8Array; recid: number }
      }
      raw = (d, k) => lib.ecdsaSign(d, k)
    } catch {
      raw = undefined
    }
    const TOP = (1n << 256n) - 1n
    const highDigest = fc.oneof(fc.constantFrom(N, N + 1n, TOP), fc.bigInt({ min: N, max: TOP }))
    let differed = 0
    fc.assert(
      fc.property(keyArb, highDigest, (key, e) => {
        const digest = word(e)
        const address = privateKeyToAddress(bytesToHex(key)).toLowerCase()
        const ref = referenceSign(key, digest)
        const rfc6979 = bytesToHex(new Uint8Array([...word(ref.r), ...word(ref.s), ref.v]))
        assert.equal(signDigest(digest, key), rfc6979, 'chanvm signs with the RFC 6979 nonce')
        for (const backend of [secp256k1Backends.native, secp256k1Backends.noble]) {
          if (backend === undefined) continue
          const b = backend.sign(digest, key)
          assert.equal(bytesToHex(new Uint8Array([...b.compact, 27 + b.recid])), rfc6979, backend.name)
        }
        assert.deepEqual(recoverDigestSigner(digest, rfc6979), { ok: true, signer: address })
        if (raw === undefined) return
        // libsecp256k1 on the unreduced digest: another nonce, another (valid, low-s) signature of the
        // same digest, recovered to the same address.
        const r = raw(digest, key)
        const other = bytesToHex(new Uint8Array([...r.signature, 27 + r.recid]))
        if (other !== rfc6979) differed++
        assert.deepEqual(recoverDigestSigner(digest, other), { ok: true, signer: address })
        assert.deepEqual(
          recoverDigestSigner(word(e - N), other),
          { ok: true, signer: address },
          'the same as the reduced digest',
        )
      }),
      { numRuns: 100 },
    )
    if (raw !== undefined)
      assert.equal(differed, 100, 'libsecp256k1 alone derives its nonce from the unreduced digest')
    else this.skip()
  })

  it('an r below 2^248 keeps its leading zero byte (r and s are always 32 bytes each)', () => {
    const key = hexToBytes(`0x${'42'.repeat(32)}`)
    let found = 0
    for (let i = 0; found < 2; i++) {
      const digest = hexToBytes(keccak256(word(BigInt(i))))
      const ref = referenceSign(key, digest)
      if (ref.r >= 1n << 248n) continue
      found++
      const sig = signDigest(digest, key)
      assert.match(sig, /^0x00[0-9a-f]{128}$/)
      assert.equal(sig, bytesToHex(new Uint8Array([...word(ref.r), ...word(ref.s), ref.v])))
      assert.equal(recoverDigestSigner(digest, sig).ok, true)
    }
  })

  it('equals viem sign() of the same digest, and verifies as the key address', async () => {
    await fc.assert(
      fc.asyncProperty(keyArb, bytes32, async (key, digest) => {
        const sig = signDigest(digest, key)
        assert.equal(await sign({ hash: bytesToHex(digest), privateKey: bytesToHex(key), to: 'hex' }), sig)
        assert.deepEqual(recoverDigestSigner(digest, sig), {
          ok: true,
          signer: privateKeyToAddress(bytesToHex(key)).toLowerCase(),
        })
      }),
      { numRuns: 100 },
    )
  })

  it('s -> n - s must flip v: with v flipped it is the same key (refused as high-s), with v kept another key', () => {
    fc.assert(
      fc.property(keyArb, bytes32, (key, digest) => {
        const sig = hexToBytes(signDigest(digest, key))
        const twin = new Uint8Array(sig)
        twin.set(word(N - toBig(sig.subarray(32, 64))), 32)
        const pub = secp256k1Backends.noble.recover(digest, sig.subarray(0, 64), sig[64]! - 27)
        const flippedV = secp256k1Backends.noble.recover(digest, twin.subarray(0, 64), 28 - sig[64]!)
        const keptV = secp256k1Backends.noble.recover(digest, twin.subarray(0, 64), sig[64]! - 27)
        assert.deepEqual(flippedV, pub)
        assert.notDeepEqual(keptV, pub)
        twin[64] = 55 - sig[64]!
        assert.deepEqual(recoverDigestSigner(digest, twin), { ok: false, reason: 'high-s' })
      }),
      { numRuns: 60 },
    )
  })

  it('only v = 27 or 28: the recovery id alone (0/1) and EIP-155 values are refused', () => {
    const digest = keccak256('0x01')
    const sig = signDigest(digest, `0x${'01'.repeat(32)}` as Hex)
    const parity = Number.parseInt(sig.slice(130), 16) - 27
    for (const v of [parity, 35 + 2 * 1 + parity, 35 + 2 * 31337 + parity]) {
      const withV = `${sig.slice(0, 130)}${(v & 0xff).toString(16).padStart(2, '0')}` as Hex
      assert.deepEqual(recoverDigestSigner(digest, withV), { ok: false, reason: 'v' })
    }
  })
})
