import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  encodeFunctionData,
  decodeFunctionResult,
  hashTypedData,
  hexToBytes,
  bytesToHex,
  type Address,
  type Hex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { StateDigestHarness } from '../../contracts/generated/StateDigestHarness.ts'
import {
  getChannelId,
  hashState,
  signState,
  verifyStateSignature,
  chanvmDomain,
  stateTypes,
} from '../../engine/channel/index.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { recoverDigestSigner, SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const HARNESS: Address = '0x00000000000000000000000000000000000000d1'

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => bytesToHex(b))
const address = hex(20).map((h) => h as Address)
const paramsArb: fc.Arbitrary<ChannelParams> = fc.record({
  chainId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  adjudicator: address,
  participants: fc.array(address, { minLength: 2, maxLength: 4 }),
  app: address,
  appCodeHash: hex(32),
  challengeDuration: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  nonce: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
})
const stateArb: fc.Arbitrary<State> = fc.record({
  channelId: hex(32),
  version: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  balances: fc.array(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), { minLength: 0, maxLength: 5 }),
  appData: fc.uint8Array({ maxLength: 300 }).map((b) => bytesToHex(b)),
  isFinal: fc.boolean(),
})

function flipBit(h: Hex, bit: number): Hex {
  const b = hexToBytes(h)
  const i = bit % (b.length * 8)
  b[i >> 3] = (b[i >> 3] ?? 0) ^ (1 << (i & 7))
  return bytesToHex(b)
}

/** The same signature with s replaced by n - s (and v flipped): valid ECDSA, but high s. */
function toHighS(sig: Hex): Hex {
  const b = hexToBytes(sig)
  let s = 0n
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(b[i] ?? 0)
  let hs = N - s
  for (let i = 63; i >= 32; i--) {
    b[i] = Number(hs & 0xffn)
    hs >>= 8n
  }
  b[64] = (b[64] ?? 27) === 27 ? 28 : 27
  return bytesToHex(b)
}

describe('channel: state signatures', () => {
  const key = testKeys[0] as Hex
  const signer = testAddresses[0] as Address

  it('a signed state verifies as its signer, for any params and state', () => {
    fc.assert(
      fc.property(paramsArb, stateArb, (p, s) => {
        const v = verifyStateSignature(p, s, signState(p, s, key), signer)
        assert.equal(v.ok, true)
      }),
      { numRuns: 200 },
    )
  })

  it('any changed field of the state or the domain fails verification', () => {
    const mutations: ((p: ChannelParams, s: State) => [ChannelParams, State])[] = [
      (p, s) => [p, { ...s, version: s.version ^ 1n }],
      (p, s) => [p, { ...s, isFinal: !s.isFinal }],
      (p, s) => [p, { ...s, channelId: flipBit(s.channelId, 5) }],
      (p, s) => [p, { ...s, appData: s.appData === '0x' ? '0x00' : flipBit(s.appData, 3) }],
      (p, s) => [
        p,
        { ...s, balances: s.balances.length === 0 ? [0n] : [s.balances[0]! ^ 1n, ...s.balances.slice(1)] },
      ],
      (p, s) => [p, { ...s, balances: [...s.balances, 0n] }],
      (p, s) => [{ ...p, chainId: p.chainId + 1n }, s],
      (p, s) => [{ ...p, adjudicator: flipBit(p.adjudicator, 7) as Address }, s],
    ]
    fc.assert(
      fc.property(paramsArb, stateArb, fc.integer({ min: 0, max: mutations.length - 1 }), (p, s, m) => {
        const sig = signState(p, s, key)
        const [p2, s2] = mutations[m]!(p, s)
        assert.equal(verifyStateSignature(p2, s2, sig, signer).ok, false)
      }),
      { numRuns: 300 },
    )
  })

  it('any flipped bit of the signature fails verification', () => {
    fc.assert(
      fc.property(paramsArb, stateArb, fc.integer({ min: 0, max: 65 * 8 - 1 }), (p, s, bit) => {
        const sig = flipBit(signState(p, s, key), bit)
        assert.equal(verifyStateSignature(p, s, sig, signer).ok, false)
      }),
      { numRuns: 300 },
    )
  })

  it('rejects high-s, bad v, wrong lengths and signatures that recover no signer', () => {
    fc.assert(
      fc.property(hex(32), (digest) => {
        const sig = signState(
          {
            chainId: 1n,
            adjudicator: signer,
            participants: [],
            app: signer,
            appCodeHash: digest,
            challengeDuration: 0n,
            nonce: 0n,
          },
          { channelId: digest, version: 0n, balances: [], appData: '0x', isFinal: false },
          key,
        )
        assert.deepEqual(recoverDigestSigner(digest, toHighS(sig)), { ok: false, reason: 'high-s' })
        assert.deepEqual(recoverDigestSigner(digest, `${sig.slice(0, 130)}1d` as Hex), {
          ok: false,
          reason: 'v',
        })
        assert.deepEqual(recoverDigestSigner(digest, sig.slice(0, 128) as Hex), {
          ok: false,
          reason: 'length',
        })
        // r = 0 recovers nothing: ecrecover's "zero address"
        assert.deepEqual(recoverDigestSigner(digest, `0x${'00'.repeat(32)}${'11'.repeat(32)}1b`), {
          ok: false,
          reason: 'invalid',
        })
      }),
      { numRuns: 100 },
    )
    assert.ok(SECP256K1_HALF_N * 2n + 1n === N)
  })

  it('high-s is refused exactly when s is above half the curve order, at the boundary too', () => {
    const word = (n: bigint) => n.toString(16).padStart(64, '0')
    const verdictFor = (sHex: string) =>
      recoverDigestSigner(`0x${'42'.repeat(32)}`, `0x${'11'.repeat(32)}${sHex}1b` as Hex)
    const around = [
      0n,
      1n,
      SECP256K1_HALF_N - 1n,
      SECP256K1_HALF_N,
      SECP256K1_HALF_N + 1n,
      N - 1n,
      (1n << 256n) - 1n,
    ]
    const sArb = fc.oneof(
      fc.constantFrom(...around),
      fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
      fc.bigInt({ min: SECP256K1_HALF_N - 1000n, max: SECP256K1_HALF_N + 1000n }),
    )
    fc.assert(
      fc.property(sArb, (sv) => {
        const v = verdictFor(word(sv))
        assert.equal(!v.ok && v.reason === 'high-s', sv > SECP256K1_HALF_N, `s = ${sv}`)
      }),
      { numRuns: 500 },
    )
  })

  it('the fast digest equals viem hashTypedData', async () => {
    await fc.assert(
      fc.asyncProperty(paramsArb, stateArb, async (p, s) => {
        const expected = hashTypedData({
          domain: chanvmDomain(p.chainId, p.adjudicator),
          types: stateTypes,
          primaryType: 'State',
          message: s,
        })
        assert.equal(hashState(p.chainId, p.adjudicator, s), expected)
        const viemSig = await privateKeyToAccount(key).signTypedData({
          domain: chanvmDomain(p.chainId, p.adjudicator),
          types: stateTypes,
          primaryType: 'State',
          message: s,
        })
        assert.equal(verifyStateSignature(p, s, viemSig, signer).ok, true)
      }),
      { numRuns: 100 },
    )
  })

  describe('against the Solidity library, run in the sandbox', () => {
    let sandbox: Sandbox
    before(async () => {
      sandbox = await createSandbox()
    })
    const call = async (data: Hex) => {
      const r = await sandbox.staticCall({
        address: HARNESS,
        code: StateDigestHarness.deployedBytecode,
        data,
        env: fixedEnv,
      })
      return r
    }

    it('digest and channel id: TypeScript equals Solidity for random params and states', async () => {
      await fc.assert(
        fc.asyncProperty(paramsArb, stateArb, async (p, s) => {
          const r = await call(
            encodeFunctionData({ abi: StateDigestHarness.abi, functionName: 'digest', args: [p, s] }),
          )
          assert.ok(r.ok, r.ok ? '' : r.message)
          assert.equal(
            decodeFunctionResult({ abi: StateDigestHarness.abi, functionName: 'digest', data: r.returnData }),
            hashState(p.chainId, p.adjudicator, s),
          )
          const id = await call(
            encodeFunctionData({ abi: StateDigestHarness.abi, functionName: 'channelId', args: [p] }),
          )
          assert.ok(id.ok)
          assert.equal(
            decodeFunctionResult({
              abi: StateDigestHarness.abi,
              functionName: 'channelId',
              data: id.returnData,
            }),
            getChannelId(p),
          )
        }),
        { numRuns: 60 },
      )
    })

    it('signature rules: Solidity accepts what TypeScript accepts and rejects high s', async () => {
      await fc.assert(
        fc.asyncProperty(hex(32), fc.integer({ min: 0, max: 3 }), async (digest, k) => {
          const sig = (await import('../../engine/crypto/signDigest.ts')).signDigest(digest, testKeys[k]!)
          const ok = await call(
            encodeFunctionData({ abi: StateDigestHarness.abi, functionName: 'recover', args: [digest, sig] }),
          )
          assert.ok(ok.ok)
          assert.equal(
            decodeFunctionResult({
              abi: StateDigestHarness.abi,
              functionName: 'recover',
              data: ok.returnData,
            }).toLowerCase(),
            testAddresses[k]!.toLowerCase(),
          )
          const high = await call(
            encodeFunctionData({
              abi: StateDigestHarness.abi,
              functionName: 'recover',
              args: [digest, toHighS(sig)],
            }),
          )
          assert.equal(high.ok, false)
          const zero = await call(
            encodeFunctionData({
              abi: StateDigestHarness.abi,
              functionName: 'recover',
              args: [digest, `0x${'00'.repeat(32)}${'11'.repeat(32)}1b`],
            }),
          )
          assert.equal(zero.ok, false)
        }),
        { numRuns: 40 },
      )
    })
  })
})
