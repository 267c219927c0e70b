import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { createCryptoPool, type CryptoPool } from '../../engine/crypto/createCryptoPool.ts'
import { createKeySigner, signerOnPool } from '../../engine/crypto/createKeySigner.ts'
import { recoverDigestSigner, SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'

const N = SECP256K1_HALF_N * 2n + 1n
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
/** A valid private key: 1 .. n-1. */
const key = fc.bigInt({ min: 1n, max: N - 1n }).map((k) => `0x${k.toString(16).padStart(64, '0')}` as Hex)
const word = (n: bigint) => n.toString(16).padStart(64, '0')

/** What a test makes of a signature before it is checked. */
type Mangle = 'none' | 'high-s' | 'short' | 'long' | 'v' | 'flip' | 'upper' | 'encoding' | 'zero'
const mangle = (sig: Hex, how: Mangle, at: number): Hex | Uint8Array => {
  const body = sig.slice(2)
  switch (how) {
    case 'none':
      return sig
    case 'high-s': {
      const s = BigInt(`0x${body.slice(64, 128)}`)
      const v = body.slice(128) === '1b' ? '1c' : '1b'
      return `0x${body.slice(0, 64)}${word(N - s)}${v}`
    }
    case 'short':
      return `0x${body.slice(0, 128)}`
    case 'long':
      return `0x${body}00`
    case 'v':
      return `0x${body.slice(0, 128)}${(at % 256).toString(16).padStart(2, '0')}`
    case 'flip': {
      const i = at % 128
      const d = ((parseInt(body[i] as string, 16) + 1) % 16).toString(16)
      return `0x${body.slice(0, i)}${d}${body.slice(i + 1)}`
    }
    case 'upper':
      return `0x${body.toUpperCase()}`
    case 'encoding':
      return `0X${body}` as Hex
    case 'zero':
      return new Uint8Array(65)
  }
}

describe('crypto pool', function () {
  this.timeout(120_000)
  const pools: CryptoPool[] = []
  const open = async (o: Parameters<typeof createCryptoPool>[0]) => {
    const pool = createCryptoPool(o)
    pools.push(pool)
    await pool.ready()
    return pool
  }
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()))
  })

  for (const offload of ['always', 'never'] as const) {
    it(`signs and recovers byte for byte as the inline functions do (offload: ${offload})`, async () => {
      const pool = await open({ threads: 1, offload })
      await fc.assert(
        fc.asyncProperty(
          key,
          bytes32,
          fc.constantFrom<Mangle>(
            'none',
            'high-s',
            'short',
            'long',
            'v',
            'flip',
            'upper',
            'encoding',
            'zero',
          ),
          fc.nat(),
          fc.boolean(),
          async (k, d, how, at, digestAsHex) => {
            const digest = digestAsHex ? bytesToHex(d) : d
            const sig = await pool.sign(digest, k)
            assert.equal(sig, signDigest(digest, k))
            const bad = mangle(sig, how, at)
            const [verdict, again] = await Promise.all([pool.recover(digest, bad), pool.recover(digest, sig)])
            assert.deepEqual(verdict, recoverDigestSigner(digest, bad))
            assert.deepEqual(again, { ok: true, signer: privateKeyToAddress(k).toLowerCase() })
          },
        ),
        { numRuns: 200 },
      )
      if (offload === 'always') assert.ok(pool.stats().offloaded >= 400, JSON.stringify(pool.stats()))
      else assert.equal(pool.stats().offloaded, 0)
    })
  }

  it('refuses what signDigest refuses, with its message', async () => {
    const pool = await open({ threads: 1, offload: 'always' })
    const digest = `0x${'11'.repeat(32)}` as Hex
    for (const k of [`0x${'00'.repeat(32)}`, `0x${word(N)}`] as Hex[]) {
      const inline = (() => {
        try {
          signDigest(digest, k)
          return undefined
        } catch (e) {
          return (e as Error).message
        }
      })()
      assert.notEqual(inline, undefined)
      await assert.rejects(pool.sign(digest, k), (e: Error) => e.message === inline)
    }
    assert.equal(pool.stats().offloaded, 2)
  })

  it('hands the jobs of one turn to a thread as one batch', async () => {
    const pool = await open({ threads: 1, offload: 'always' })
    const k = `0x${'22'.repeat(32)}` as Hex
    const digests = Array.from({ length: 50 }, (_, i) => `0x${word(BigInt(i + 1))}` as Hex)
    const sigs = await Promise.all(digests.map((d) => pool.sign(d, k)))
    assert.deepEqual(
      sigs,
      digests.map((d) => signDigest(d, k)),
    )
    assert.deepEqual(pool.stats().batches, 1)
  })

  it('runs a job inline while one channel works, and on a thread while several do', async () => {
    const pool = await open({ threads: 1 })
    const k = `0x${'33'.repeat(32)}` as Hex
    const d = `0x${'44'.repeat(32)}` as Hex
    const one = pool.busy('a')
    const again = pool.busy('a')
    await pool.sign(d, k)
    assert.deepEqual([pool.stats().inline, pool.stats().offloaded], [1, 0])
    const other = pool.busy('b')
    assert.equal(await pool.sign(d, k), signDigest(d, k))
    assert.deepEqual([pool.stats().inline, pool.stats().offloaded], [1, 1])
    other()
    other() // ending twice ends once
    again()
    await pool.sign(d, k)
    assert.deepEqual([pool.stats().inline, pool.stats().offloaded], [2, 1])
    one()
  })

  it('starts its thread only when a job would go there', async () => {
    const pool = createCryptoPool({ threads: 1 })
    pools.push(pool)
    const k = `0x${'34'.repeat(32)}` as Hex
    const d = `0x${'45'.repeat(32)}` as Hex
    const done = pool.busy('a')
    assert.equal(await pool.sign(d, k), signDigest(d, k))
    assert.equal(pool.workers().length, 0, 'one channel at work: no thread')
    const other = pool.busy('b')
    assert.equal(await pool.sign(d, k), signDigest(d, k))
    assert.equal(pool.workers().length, 1, 'two: the thread starts, the job runs here meanwhile')
    assert.deepEqual([pool.stats().inline, pool.stats().offloaded], [2, 0])
    await pool.ready()
    assert.equal(await pool.sign(d, k), signDigest(d, k))
    assert.equal(pool.stats().offloaded, 1)
    other()
    done()
  })

  it('runs the jobs of a thread that fails on the calling thread, and reports it', async () => {
    const failures: string[] = []
    const pool = await open({ threads: 1, offload: 'always', onFailure: (m) => failures.push(m) })
    const k = `0x${'55'.repeat(32)}` as Hex
    const digests = Array.from({ length: 3000 }, (_, i) => `0x${word(BigInt(i + 7))}` as Hex)
    const sigs = digests.map((d) => signDigest(d, k))
    const verdicts = Promise.all(digests.map((d, i) => pool.recover(d, sigs[i] as Hex)))
    // A message the thread cannot read reaches it before the batch: it throws, and dies.
    pool.workers()[0]?.postMessage(null)
    await new Promise((r) => setImmediate(r)) // the batch is posted
    assert.equal(pool.stats().inFlight, 3000)
    const got = await verdicts
    const signer = privateKeyToAddress(k).toLowerCase()
    assert.ok(got.every((v) => v.ok && v.signer === signer))
    assert.equal(pool.stats().failures, 1)
    assert.equal(pool.stats().inFlight, 0)
    assert.ok(pool.stats().inline > 0, JSON.stringify(pool.stats()))
    assert.match(
      failures[0] ?? '',
      /crypto thread 0 failed: .*; 3000 jobs in flight run on the calling thread/,
    )
    assert.equal(pool.workers().length, 0)
    // Later jobs run here.
    assert.equal(await pool.sign(digests[0] as Hex, k), signDigest(digests[0] as Hex, k))
  })

  it('close runs what is in flight on the calling thread, then everything later', async () => {
    const pool = await open({ threads: 1, offload: 'always' })
    const k = `0x${'66'.repeat(32)}` as Hex
    const digests = Array.from({ length: 2000 }, (_, i) => `0x${word(BigInt(i + 9))}` as Hex)
    const sigs = Promise.all(digests.map((d) => pool.sign(d, k)))
    await new Promise((r) => setImmediate(r))
    await pool.close()
    await pool.close()
    assert.deepEqual(
      await sigs,
      digests.map((d) => signDigest(d, k)),
    )
    assert.equal(pool.workers().length, 0)
    assert.equal(pool.stats().failures, 0)
    const before = pool.stats().inline
    assert.equal(await pool.sign(digests[1] as Hex, k), signDigest(digests[1] as Hex, k))
    assert.equal(pool.stats().inline, before + 1)
  })

  it('a key signer signs through the pool; another signer stays as it is', async () => {
    const pool = await open({ threads: 1, offload: 'always' })
    const k = `0x${'77'.repeat(32)}` as Hex
    const d = `0x${'88'.repeat(32)}` as Hex
    const onPool = signerOnPool(createKeySigner(k), pool)
    assert.equal(await onPool.signDigest(d), signDigest(d, k))
    assert.equal(await createKeySigner(k, { pool }).signDigest(d), signDigest(d, k))
    assert.equal(pool.stats().offloaded, 2)
    const other = { address: privateKeyToAddress(k), signDigest: (x: Hex) => signDigest(x, k) }
    assert.equal(signerOnPool(other, pool), other)
  })
})
