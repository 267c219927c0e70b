import assert from 'node:assert/strict'
import fc from 'fast-check'
import { bytesToHex, decodeErrorResult, encodeFunctionData, hexToBytes, type Address, type Hex } from 'viem'
import { StateDigestHarness } from '../../contracts/generated/StateDigestHarness.ts'
import { deployContract } from '../../engine/chain/deployContract.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { verifyStateSignature, wireToSignature } from '../../engine/channel/index.ts'
import { canonicalSignature } from '../../engine/crypto/canonicalSignature.ts'
import { recoverDigestSigner, SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { strictHexToBytes } from '../../engine/crypto/strictHexToBytes.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { testAddresses, testKeys } from '../support/channel.ts'
import { caseVariant, nonCanonical } from './spellings.ts'

const N = SECP256K1_HALF_N * 2n + 1n
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const digestArb = bytes(32).map((b) => bytesToHex(b))
const keyIndex = fc.integer({ min: 0, max: testKeys.length - 1 })
/** Valid bytes made invalid: the chain's Sig library must refuse these with the same reason as TS. */
function tampered(sig: Hex): fc.Arbitrary<string> {
  const b = hexToBytes(sig)
  const s = BigInt(bytesToHex(b.subarray(32, 64)))
  const high = new Uint8Array(b)
  high.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, '0')}`), 32)
  high[64] = b[64] === 27 ? 28 : 27
  return fc.oneof(
    fc.constant(bytesToHex(high)),
    fc.constant(sig.slice(0, 130)),
    fc.constant(`${sig}00`),
    fc
      .integer({ min: 0, max: 255 })
      .filter((v) => v !== 27 && v !== 28)
      .map((v) => `${sig.slice(0, 130)}${v.toString(16).padStart(2, '0')}`),
    fc.integer({ min: 0, max: 65 * 8 - 1 }).map((bit) => {
      const c = new Uint8Array(b)
      c[bit >> 3] = (c[bit >> 3] ?? 0) ^ (1 << (bit & 7))
      return bytesToHex(c)
    }),
  )
}

describe('crypto: canonical signature encodings', () => {
  it('strictHexToBytes decodes exactly 0x and an even number of hex digits, in either case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (b, upper) => {
        const h = bytesToHex(b)
        const spelled = upper ? `0x${h.slice(2).toUpperCase()}` : h
        assert.deepEqual(strictHexToBytes(spelled), b)
        assert.deepEqual(strictHexToBytes(spelled, b.length), b)
        assert.equal(strictHexToBytes(spelled, b.length + 1), undefined)
      }),
      { numRuns: 300 },
    )
    for (const bad of [
      '',
      '0',
      '0X',
      '0X00',
      'zz00',
      '0x0',
      '0x000',
      '0x0g',
      ' 0x00',
      '0x00 ',
      '0x٠٠',
      42,
      null,
      undefined,
      [0],
      {},
    ]) {
      assert.equal(strictHexToBytes(bad), undefined, JSON.stringify(bad))
    }
    assert.deepEqual(strictHexToBytes('0x'), new Uint8Array())
  })

  it('every spelling of a valid signature that is not 0x + hex is refused as encoding, by every entry point', () => {
    fc.assert(
      fc.property(digestArb, keyIndex, fc.integer({ min: 0, max: 2 ** 31 }), (digest, k, seed) => {
        const sig = signDigest(digest, testKeys[k]!)
        const variant = fc.sample(nonCanonical(sig), { seed, numRuns: 1 })[0]!
        assert.deepEqual(recoverDigestSigner(digest, variant as Hex), { ok: false, reason: 'encoding' })
        assert.equal(canonicalSignature(variant), undefined)
        assert.throws(
          () => wireToSignature(variant),
          (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
        )
      }),
      { numRuns: 500 },
    )
  })

  it('upper- and mixed-case digits are the same bytes: accepted, and canonicalSignature gives the lower-case string', () => {
    fc.assert(
      fc.property(digestArb, keyIndex, fc.integer({ min: 0, max: 2 ** 31 }), (digest, k, seed) => {
        const sig = signDigest(digest, testKeys[k]!)
        assert.equal(canonicalSignature(sig), sig)
        const variant = fc.sample(caseVariant(sig), { seed, numRuns: 1 })[0]! as Hex
        const v = recoverDigestSigner(digest, variant)
        assert.deepEqual(v, { ok: true, signer: testAddresses[k]!.toLowerCase() })
        assert.equal(canonicalSignature(variant), sig)
        assert.equal(wireToSignature(variant), sig)
      }),
      { numRuns: 200 },
    )
  })

  it('values that are not strings are refused as encoding, never thrown', () => {
    const digest = `0x${'55'.repeat(32)}` as Hex
    for (const v of [undefined, null, 65, 65n, true, {}, [], ['0x'], { length: 65 }]) {
      assert.deepEqual(recoverDigestSigner(digest, v as unknown as Hex), { ok: false, reason: 'encoding' })
      assert.equal(canonicalSignature(v), undefined)
    }
    // a canonical signature with a digest that is not 32 bytes of hex: nothing to recover
    const sig = signDigest(digest, testKeys[0]!)
    for (const d of ['0X' + '55'.repeat(32), `0x${'55'.repeat(31)}`, `0x${'5'.repeat(63)}`]) {
      assert.deepEqual(recoverDigestSigner(d as Hex, sig), { ok: false, reason: 'invalid' })
    }
  })

  it('verifyStateSignature refuses what recoverDigestSigner refuses', () => {
    const digest = `0x${'66'.repeat(32)}` as Hex
    const sig = signDigest(digest, testKeys[1]!)
    const params = {
      chainId: 1n,
      adjudicator: testAddresses[0]!,
      participants: [],
      app: testAddresses[0]!,
      appCodeHash: digest,
      challengeDuration: 0n,
      nonce: 0n,
    }
    const state = { channelId: digest, version: 0n, balances: [], appData: '0x' as Hex, isFinal: false }
    assert.deepEqual(
      verifyStateSignature(params, state, `0X${sig.slice(2)}` as Hex, testAddresses[1]!, digest),
      { ok: false, reason: 'encoding' },
    )
    assert.equal(
      verifyStateSignature(
        params,
        state,
        sig.toUpperCase().replace('0X', '0x') as Hex,
        testAddresses[1]!,
        digest,
      ).ok,
      true,
    )
  })

  describe('parity with the Solidity Sig library on anvil: TypeScript never accepts what the chain refuses', function () {
    let anvil: Anvil
    let harness: Address

    before(async function () {
      anvil = await startAnvil()
      const deployer = anvil.accounts[0]!.privateKey
      harness = (
        await deployContract({ rpcUrl: anvil.rpcUrl, privateKey: deployer, artifact: StateDigestHarness })
      ).address
    })
    after(async () => {
      await anvil?.stop()
    })

    const reasonOf: Record<string, string> = {
      BadSignatureLength: 'length',
      BadSignatureV: 'v',
      HighS: 'high-s',
      InvalidSignature: 'invalid',
    }

    /**
     * What the chain does with the string: the calldata is built as viem builds it (it copies the
     * string's characters after the first two unchecked) and sent to anvil as it is.
     */
    async function onChain(digest: Hex, sig: string): Promise<string> {
      let data: string
      try {
        data = encodeFunctionData({
          abi: StateDigestHarness.abi,
          functionName: 'recover',
          args: [digest, sig as Hex],
        })
      } catch {
        return 'unencodable'
      }
      const res = await fetch(anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_call',
          params: [{ to: harness, data }, 'latest'],
        }),
      })
      const body = (await res.json()) as { result?: Hex; error?: { code: number; data?: Hex } }
      if (body.result !== undefined) return `ok:0x${body.result.slice(26)}`
      if (typeof body.error?.data === 'string' && body.error.data.length >= 10) {
        const { errorName } = decodeErrorResult({ abi: StateDigestHarness.abi, data: body.error.data })
        return reasonOf[errorName] ?? `unmapped:${errorName}`
      }
      return `rpc-error:${body.error?.code}`
    }

    it('for canonical, case-changed, non-canonical and tampered spellings of random signatures', async () => {
      const seen = new Map<string, number>()
      await fc.assert(
        fc.asyncProperty(
          digestArb,
          keyIndex,
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 2 ** 31 }),
          async (digest, k, family, seed) => {
            const sig = signDigest(digest, testKeys[k]!)
            const arb = [fc.constant<string>(sig), caseVariant(sig), nonCanonical(sig), tampered(sig)][
              family
            ]!
            const variant = fc.sample(arb, { seed, numRuns: 1 })[0]!
            const v = recoverDigestSigner(digest, variant as Hex)
            const ts = v.ok ? `ok:${v.signer}` : v.reason
            const chain = await onChain(digest, variant)
            const key = `${ts.startsWith('ok') ? 'ok' : ts} / ${chain.startsWith('ok') ? 'ok' : chain}`
            seen.set(key, 1 + (seen.get(key) ?? 0))
            if (v.ok) assert.equal(chain, ts, `TS accepts ${JSON.stringify(variant)}, the chain does not`)
            else if (v.reason === 'encoding') {
              // viem reads an odd number of digits with a leading zero nibble: only a dropped leading
              // zero can then reach the chain as the very signature. TS refuses it all the same.
              if (chain === `ok:${testAddresses[k]!.toLowerCase()}`) {
                assert.equal(
                  `0x0${variant.slice(2)}`.toLowerCase(),
                  sig,
                  `the chain takes ${JSON.stringify(variant)}`,
                )
              }
            } else
              assert.equal(
                chain,
                ts,
                `TS refuses ${JSON.stringify(variant)} as ${ts}, the chain says ${chain}`,
              )
          },
        ),
        { numRuns: 240 },
      )
      // Each family was seen.
      const kinds = [...seen.keys()].join(', ')
      for (const k of [
        'ok / ok',
        'encoding / rpc-error:-32602',
        'high-s / high-s',
        'length / length',
        'v / v',
      ]) {
        assert.ok(seen.has(k), `${k} not among ${kinds}`)
      }
    })
  })
})
