import { strict as assert } from 'node:assert'
import { createPrivateKey, sign as nodeSign } from 'node:crypto'
import { p256 } from '@noble/curves/nist.js'
import fc from 'fast-check'
import { bytesToHex, hexToBytes, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import {
  addressToSignerId,
  bytes32ToText,
  getP256PublicKey,
  getSignerId,
  hashAnswer,
  hashReading,
  oracleSignatureToStruct,
  p256PublicKeyToSignerId,
  P256_N,
  signAnswer,
  signReading,
  textToBytes32,
  verifyAnswer,
  verifyAnswerQuorum,
  verifyReading,
  type OracleKey,
  type OracleSignature,
  type Reading,
  type SignedReading,
} from '../../oracles/message/index.ts'
import { SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import { createHarness } from './support.ts'

/** An ES256 signature by OpenSSL (random nonce) of sha256(digest), s made low as the rules require. */
function opensslSign(privateKey: Hex, digest: Hex): Hex {
  const d = hexToBytes(privateKey)
  const pub = p256.getPublicKey(d, false)
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url')
  const key = createPrivateKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) },
  })
  const sig = new Uint8Array(nodeSign('sha256', hexToBytes(digest), { key, dsaEncoding: 'ieee-p1363' }))
  const s = BigInt(bytesToHex(sig.subarray(32)))
  if (s > P256_N / 2n) sig.set(hexToBytes(toHex(P256_N - s, { size: 32 })), 32)
  return bytesToHex(sig)
}

const SECP_N = SECP256K1_HALF_N * 2n + 1n
const secpKey: OracleKey = {
  curve: 'secp256k1',
  privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
}
const p256Key: OracleKey = {
  curve: 'p256',
  privateKey: '0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
}
const otherP256: OracleKey = {
  curve: 'p256',
  privateKey: '0x0000000000000000000000000000000000000000000000000000000000000007',
}
const chainId = 31337n

function reading(key: OracleKey, over: Partial<Reading> = {}): Reading {
  return {
    device: getSignerId(key),
    sequence: 42n,
    timestamp: 1_700_000_000n,
    kind: textToBytes32('temperature'),
    value: -18_250n,
    unit: textToBytes32('mC'),
    ...over,
  }
}

/** Replaces s by n - s (the other valid, high-s form of the same signature). */
function highS(sig: OracleSignature): OracleSignature {
  const b = hexToBytes(sig.signature)
  const n = sig.curve === 'p256' ? P256_N : SECP_N
  const s = BigInt(bytesToHex(b.subarray(32, 64)))
  b.set(hexToBytes(toHex(n - s, { size: 32 })), 32)
  if (sig.curve === 'secp256k1') b[64] = b[64] === 27 ? 28 : 27
  return { ...sig, signature: bytesToHex(b) }
}

function flipBit(sig: OracleSignature, bit: number): OracleSignature {
  const b = hexToBytes(sig.signature)
  b[bit >> 3] = (b[bit >> 3] ?? 0) ^ (1 << (bit & 7))
  return { ...sig, signature: bytesToHex(b) }
}

describe('oracle messages: TypeScript and the Solidity library agree', function () {
  let harness: Awaited<ReturnType<typeof createHarness>>
  before(async () => {
    harness = await createHarness()
  })

  it('signer ids: address left-padded; keccak256(x || y) for P-256, equal to Solidity idOfP256', async () => {
    assert.equal(getSignerId(secpKey), addressToSignerId(privateKeyToAddress(secpKey.privateKey)))
    assert.match(getSignerId(secpKey), /^0x0{24}[0-9a-f]{40}$/)
    const pub = getP256PublicKey(p256Key.privateKey)
    assert.equal(hexToBytes(pub).length, 64)
    const v = await harness.call('idOfP256', [pub.slice(0, 66), `0x${pub.slice(66)}`])
    assert.deepEqual(v, { ok: true, result: p256PublicKeyToSignerId(pub) })
    assert.equal(getSignerId(p256Key), keccak256(pub))
  })

  it('text fields round-trip through bytes32 and refuse what is not short printable ASCII', () => {
    assert.equal(bytes32ToText(textToBytes32('temperature')), 'temperature')
    assert.throws(() => textToBytes32(''), /ASCII/)
    assert.throws(() => textToBytes32('a b'), /ASCII/)
    assert.throws(() => textToBytes32('x'.repeat(33)), /ASCII/)
    // Encodings are kept: the same text again gives the same bytes, and a refusal stays one.
    assert.equal(textToBytes32('mC'), textToBytes32('mC'))
    assert.equal(textToBytes32('mC'), `0x6d43${'00'.repeat(30)}`)
    assert.throws(() => textToBytes32('a b'), /ASCII/)
    assert.equal(bytes32ToText(`0x00${'61'.repeat(31)}`), undefined)
  })

  for (const key of [secpKey, p256Key]) {
    describe(`${key.curve} readings`, () => {
      const r = reading(key)
      let signed: SignedReading
      before(() => {
        signed = signReading({ chainId, reading: r, key })
      })
      const both = async (s: SignedReading): Promise<string> => {
        const ts = verifyReading(s)
        const sol = await harness.call('verifyReading', [
          s.chainId,
          s.reading,
          oracleSignatureToStruct(s.signature),
        ])
        const tsVerdict = ts.ok ? `ok:${ts.signer}` : ts.reason
        const solVerdict = sol.ok ? `ok:${String(sol.result)}` : sol.reason
        assert.equal(solVerdict, tsVerdict, 'Solidity and TypeScript disagree')
        return tsVerdict
      }

      it('digest equals OracleMessages.readingDigest', async () => {
        assert.deepEqual(await harness.call('readingDigest', [chainId, r]), {
          ok: true,
          result: hashReading(chainId, r),
        })
      })
      it('a valid reading verifies, signer = device', async () => {
        assert.equal(await both(signed), `ok:${r.device}`)
      })
      it('the same reading for another chain id is refused', async () => {
        assert.notEqual(hashReading(1n, r), hashReading(chainId, r))
        assert.notEqual(await both({ ...signed, chainId: 1n }), `ok:${r.device}`)
      })
      it('a changed value is refused', async () => {
        assert.notEqual(await both({ ...signed, reading: { ...r, value: r.value + 1n } }), `ok:${r.device}`)
      })
      it('the high-s twin of a valid signature is refused as high-s', async () => {
        assert.equal(await both({ ...signed, signature: highS(signed.signature) }), 'high-s')
      })
      it('flipped signature bits are refused', async () => {
        for (const bit of [0, 7, 100, 255, 256, 300, 511])
          assert.notEqual(
            await both({ ...signed, signature: flipBit(signed.signature, bit) }),
            `ok:${r.device}`,
          )
      })
      it('a signature of the wrong length is refused as length', async () => {
        assert.equal(
          await both({
            ...signed,
            signature: { ...signed.signature, signature: `${signed.signature.signature}00` },
          }),
          'length',
        )
      })
      it('another key signing for this device is wrong-signer', async () => {
        const other: OracleKey =
          key.curve === 'p256'
            ? otherP256
            : {
                curve: 'secp256k1',
                privateKey: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
              }
        assert.equal(await both(signReading({ chainId, reading: r, key: other })), 'wrong-signer')
      })
    })
  }

  it('wrong curve: a P-256 signature labelled secp256k1, and a secp256k1 one labelled P-256', async () => {
    const p = signReading({ chainId, reading: reading(p256Key), key: p256Key })
    const s = signReading({ chainId, reading: reading(secpKey), key: secpKey })
    const asSecp = {
      ...p,
      signature: { curve: 'secp256k1', signature: p.signature.signature } as OracleSignature,
    }
    assert.equal(verifyReading(asSecp).ok, false)
    assert.equal(
      (
        await harness.call('verifyReading', [
          chainId,
          asSecp.reading,
          oracleSignatureToStruct(asSecp.signature),
        ])
      ).ok,
      false,
    )
    const asP256 = {
      ...s,
      signature: {
        curve: 'p256',
        signature: s.signature.signature,
        publicKey: getP256PublicKey(p256Key.privateKey),
      } as OracleSignature,
    }
    const ts = verifyReading(asP256)
    const sol = await harness.call('verifyReading', [
      chainId,
      asP256.reading,
      oracleSignatureToStruct(asP256.signature),
    ])
    assert.deepEqual([ts.ok ? 'ok' : ts.reason, sol.ok ? 'ok' : sol.reason], ['length', 'length'])
    // An unknown curve byte is refused by Solidity as UnknownCurve, by TS as curve.
    const sol9 = await harness.call('signerOf', [
      hashReading(chainId, s.reading),
      { ...oracleSignatureToStruct(s.signature), curve: 9 },
    ])
    assert.deepEqual(sol9.ok ? 'ok' : sol9.reason, 'curve')
    assert.deepEqual(
      verifyReading({
        ...s,
        signature: { curve: 'ed25519', signature: s.signature.signature } as unknown as OracleSignature,
      }),
      { ok: false, reason: 'curve' },
    )
  })

  it('a secp256k1 signature that carries a public key is refused (one encoding per signature)', async () => {
    const s = signReading({ chainId, reading: reading(secpKey), key: secpKey })
    const struct = { ...oracleSignatureToStruct(s.signature), pubX: `0x${'11'.repeat(32)}` as Hex }
    const sol = await harness.call('verifyReading', [chainId, s.reading, struct])
    assert.deepEqual(sol.ok ? 'ok' : sol.reason, 'public-key')
    const ts = verifyReading({
      ...s,
      signature: { ...s.signature, publicKey: `0x${'11'.repeat(64)}` } as unknown as OracleSignature,
    })
    assert.deepEqual(ts, { ok: false, reason: 'public-key' })
  })

  it('P-256 with r = 0, r >= n, or an off-curve key is invalid in both', async () => {
    const s = signReading({ chainId, reading: reading(p256Key), key: p256Key })
    const sig = s.signature.signature
    const cases: OracleSignature[] = [
      { ...s.signature, signature: `0x${'00'.repeat(32)}${sig.slice(66)}` },
      { ...s.signature, signature: `${toHex(P256_N, { size: 32 })}${sig.slice(66)}` },
      { curve: 'p256', signature: sig, publicKey: `0x${'00'.repeat(64)}` },
      { curve: 'p256', signature: sig, publicKey: `0x${'01'.repeat(64)}` },
    ]
    for (const c of cases) {
      const ts = verifyReading({ ...s, signature: c })
      const sol = await harness.call('signerOf', [
        hashReading(chainId, s.reading),
        oracleSignatureToStruct(c),
      ])
      assert.deepEqual([ts.ok ? 'ok' : ts.reason, sol.ok ? 'ok' : sol.reason], ['invalid', 'invalid'])
    }
  })

  describe('answers and k-of-n quorums', () => {
    const oracleKeys: OracleKey[] = [
      {
        curve: 'secp256k1',
        privateKey: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
      },
      {
        curve: 'secp256k1',
        privateKey: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
      },
      { curve: 'p256', privateKey: '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' },
      {
        curve: 'secp256k1',
        privateKey: '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
      },
    ]
    const ids = oracleKeys.map(getSignerId)
    const listed = ids.slice(0, 3)
    const answer = {
      questionId: keccak256(toHex('TRACK-123')),
      answer: textToBytes32('delivered'),
      timestamp: 1_700_000_000n,
    }
    const sigs = oracleKeys.map((key) => signAnswer({ chainId, answer, key }).signature)
    const sig = (i: number) => sigs[i] as OracleSignature

    it('answer digest and single-answer verification agree', async () => {
      assert.deepEqual(await harness.call('answerDigest', [chainId, answer]), {
        ok: true,
        result: hashAnswer(chainId, answer),
      })
      const signed = { chainId, answer, signature: sig(2) }
      assert.deepEqual(verifyAnswer(signed, { oracle: ids[2] as Hex }), { ok: true, signer: ids[2] })
      assert.deepEqual(
        await harness.call('verifyAnswer', [chainId, answer, oracleSignatureToStruct(sig(2)), ids[2]]),
        { ok: true, result: true },
      )
      assert.deepEqual(verifyAnswer(signed, { oracle: ids[0] as Hex }), { ok: false, reason: 'wrong-signer' })
      const sol = await harness.call('verifyAnswer', [
        chainId,
        answer,
        oracleSignatureToStruct(sig(2)),
        ids[0],
      ])
      assert.equal(sol.ok ? 'ok' : sol.reason, 'wrong-signer')
    })

    const table: { name: string; use: number[]; threshold: number; oracles?: Hex[]; expect: string }[] = [
      { name: '2 of 3, oracles 0 and 2', use: [0, 2], threshold: 2, expect: 'ok' },
      { name: '3 of 3', use: [2, 1, 0], threshold: 3, expect: 'ok' },
      { name: '2 of 3 with one signature', use: [1], threshold: 2, expect: 'quorum-not-met' },
      { name: 'the same oracle twice', use: [0, 0], threshold: 2, expect: 'duplicate-oracle' },
      { name: 'an oracle not in the list', use: [0, 3], threshold: 2, expect: 'unknown-oracle' },
      { name: 'threshold 0', use: [0], threshold: 0, expect: 'bad-quorum' },
      { name: 'threshold above n', use: [0, 1, 2], threshold: 4, expect: 'bad-quorum' },
      {
        name: 'an oracle listed twice does not count twice',
        use: [0, 0],
        threshold: 2,
        oracles: [ids[0] as Hex, ids[0] as Hex, ids[1] as Hex],
        expect: 'duplicate-oracle',
      },
    ]
    for (const row of table) {
      it(`quorum: ${row.name} → ${row.expect}`, async () => {
        const signatures = row.use.map(sig)
        const oracles = row.oracles ?? listed
        const ts = verifyAnswerQuorum({ chainId, answer, signatures, oracles, threshold: row.threshold })
        const sol = await harness.call('verifyAnswerQuorum', [
          chainId,
          answer,
          signatures.map(oracleSignatureToStruct),
          oracles,
          BigInt(row.threshold),
        ])
        assert.equal(ts.ok ? 'ok' : ts.reason, row.expect)
        assert.equal(sol.ok ? 'ok' : sol.reason, row.expect)
        if (ts.ok && sol.ok) {
          const mask = row.use.reduce((m, i) => m | (1n << BigInt(oracles.indexOf(ids[i] as Hex))), 0n)
          assert.equal(sol.result, mask)
        }
      })
    }

    it('a quorum over a different answer does not verify', async () => {
      const other = { ...answer, answer: textToBytes32('lost') }
      const ts = verifyAnswerQuorum({
        chainId,
        answer: other,
        signatures: [sig(0), sig(1)],
        oracles: listed,
        threshold: 2,
      })
      const sol = await harness.call('verifyAnswerQuorum', [
        chainId,
        other,
        [sig(0), sig(1)].map(oracleSignatureToStruct),
        listed,
        2n,
      ])
      assert.equal(ts.ok, false)
      assert.equal(sol.ok, false)
    })
  })

  describe('P-256 is ES256: ECDSA over sha256(digest)', () => {
    const keyArb = fc
      .bigInt({ min: 1n, max: P256_N - 1n })
      .map((k) => ({ curve: 'p256', privateKey: toHex(k, { size: 32 }) }) as OracleKey)
    const readingArb = fc.record({
      sequence: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      value: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    })

    it('signatures by OpenSSL (random nonce) and by chanvm verify in TypeScript and Solidity alike', async () => {
      await fc.assert(
        fc.asyncProperty(keyArb, readingArb, async (key, over) => {
          const r = reading(key, over)
          const digest = hashReading(chainId, r)
          const mine = signReading({ chainId, reading: r, key })
          const theirs: SignedReading = {
            ...mine,
            signature: { ...mine.signature, signature: opensslSign(key.privateKey, digest) },
          }
          for (const s of [mine, theirs]) {
            const ts = verifyReading(s)
            assert.deepEqual(ts, { ok: true, signer: r.device })
            const sol = await harness.call('verifyReading', [
              chainId,
              r,
              oracleSignatureToStruct(s.signature),
            ])
            assert.deepEqual(sol, { ok: true, result: r.device })
          }
          // Cross-check with the pure-JS verifier: the signed hash is sha256(digest).
          const pub = hexToBytes(`0x04${getP256PublicKey(key.privateKey).slice(2)}`)
          const sig = hexToBytes(mine.signature.signature)
          assert.equal(p256.verify(sig, hexToBytes(digest), pub, { prehash: true }), true)
        }),
        { numRuns: 25 },
      )
    })

    it('a signature of the digest itself (no SHA-256) is refused as invalid by both', async () => {
      await fc.assert(
        fc.asyncProperty(keyArb, readingArb, async (key, over) => {
          const r = reading(key, over)
          const raw = p256.sign(hexToBytes(hashReading(chainId, r)), hexToBytes(key.privateKey), {
            prehash: false,
            lowS: true,
          })
          const s = signReading({ chainId, reading: r, key })
          const c: OracleSignature = { ...s.signature, signature: bytesToHex(raw) }
          const ts = verifyReading({ ...s, signature: c })
          const sol = await harness.call('verifyReading', [chainId, r, oracleSignatureToStruct(c)])
          assert.deepEqual([ts.ok ? 'ok' : ts.reason, sol.ok ? 'ok' : sol.reason], ['invalid', 'invalid'])
        }),
        { numRuns: 15 },
      )
    })

    it('the high-s twin, which OpenSSL itself accepts, is refused as high-s by both', async () => {
      const s = signReading({ chainId, reading: reading(p256Key), key: p256Key })
      const twin = highS(s.signature)
      const ts = verifyReading({ ...s, signature: twin })
      const sol = await harness.call('verifyReading', [chainId, s.reading, oracleSignatureToStruct(twin)])
      assert.deepEqual([ts.ok ? 'ok' : ts.reason, sol.ok ? 'ok' : sol.reason], ['high-s', 'high-s'])
      const pub = hexToBytes(`0x04${getP256PublicKey(p256Key.privateKey).slice(2)}`)
      const digest = hexToBytes(hashReading(chainId, s.reading))
      assert.equal(p256.verify(hexToBytes(twin.signature), digest, pub, { lowS: false }), true)
    })

    it('the cached key of one device never verifies for another key', () => {
      const a = signReading({ chainId, reading: reading(p256Key), key: p256Key })
      const b = signReading({ chainId, reading: reading(otherP256), key: otherP256 })
      assert.equal(verifyReading(a).ok, true)
      assert.equal(verifyReading(b).ok, true)
      const swapped = { ...a, signature: { ...a.signature, signature: b.signature.signature } }
      assert.deepEqual(verifyReading(swapped), { ok: false, reason: 'invalid' })
    })
  })
})
