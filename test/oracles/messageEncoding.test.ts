import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { encodeFunctionData, type Address, type Hex } from 'viem'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { ChanvmError } from '../../engine/errors.ts'
import {
  getSignerId,
  oracleSignatureToStruct,
  signReading,
  textToBytes32,
  verifyReading,
  type OracleSignature,
  type OracleSigStruct,
  type Reading,
} from '../../oracles/message/index.ts'
import { caseVariant, nonCanonical } from '../crypto/spellings.ts'
import { deployHarness, harnessKeys, harnessVerdict } from './support.ts'

const readingArb = (device: Hex): fc.Arbitrary<Reading> =>
  fc.record({
    device: fc.constant(device),
    sequence: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    timestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    kind: fc.constant(textToBytes32('temperature')),
    value: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    unit: fc.constant(textToBytes32('mC')),
  })

describe('oracle messages: only 0x hex signatures and public keys verify, and never one the chain refuses', function () {
  let anvil: Anvil
  let harness: Address

  before(async function () {
    anvil = await startAnvil()
    harness = (await deployHarness(anvil)).address
  })
  after(async () => {
    await anvil?.stop()
  })

  /** `verifyReading` on anvil with the struct's strings put into the calldata as viem puts them. */
  async function onChain(chainId: bigint, reading: Reading, struct: OracleSigStruct): Promise<string> {
    let data: Hex
    try {
      data = encodeFunctionData({
        abi: OracleMessagesHarness.abi,
        functionName: 'verifyReading',
        args: [chainId, reading, struct],
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
    const body = (await res.json()) as { result?: Hex; error?: { code: number; message: string; data?: Hex } }
    if (body.result !== undefined) {
      const v = harnessVerdict('verifyReading', { ok: true, returnData: body.result })
      return v.ok ? `ok:${String(v.result)}` : v.reason
    }
    if (typeof body.error?.data === 'string' && body.error.data.length >= 10) {
      const v = harnessVerdict('verifyReading', {
        ok: false,
        revertData: body.error.data,
        message: body.error.message,
      })
      return v.ok ? 'ok' : v.reason
    }
    return `rpc-error:${body.error?.code}`
  }

  for (const key of harnessKeys) {
    const device = getSignerId(key)

    it(`${key.curve}: every other spelling of the signature${key.curve === 'p256' ? ' or the public key' : ''} is refused as encoding; case does not matter`, () => {
      fc.assert(
        fc.property(
          readingArb(device),
          fc.integer({ min: 0, max: 2 ** 31 }),
          fc.boolean(),
          (reading, seed, onKey) => {
            const chainId = BigInt(anvil.chainId)
            const signed = signReading({ chainId, reading, key })
            const sig = signed.signature
            const target = onKey && sig.curve === 'p256' ? sig.publicKey : sig.signature
            const respell = (s: string): OracleSignature =>
              target === sig.signature
                ? { ...sig, signature: s as Hex }
                : ({ ...sig, publicKey: s as Hex } as OracleSignature)
            const bad = respell(fc.sample(nonCanonical(target), { seed, numRuns: 1 })[0]!)
            assert.deepEqual(verifyReading({ ...signed, signature: bad }), { ok: false, reason: 'encoding' })
            assert.throws(
              () => oracleSignatureToStruct(bad),
              (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
            )
            const cased = respell(fc.sample(caseVariant(target), { seed, numRuns: 1 })[0]!)
            assert.deepEqual(verifyReading({ ...signed, signature: cased }), { ok: true, signer: device })
            assert.deepEqual(oracleSignatureToStruct(cased), oracleSignatureToStruct(sig))
          },
        ),
        { numRuns: 150 },
      )
    })

    it(`${key.curve}: parity with OracleMessages on anvil for canonical, case-changed and non-canonical signature strings`, async () => {
      const seen = new Set<string>()
      await fc.assert(
        fc.asyncProperty(
          readingArb(device),
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 0, max: 2 ** 31 }),
          async (reading, family, seed) => {
            const chainId = BigInt(anvil.chainId)
            const signed = signReading({ chainId, reading, key })
            const sig = signed.signature.signature
            const variant = fc.sample(
              [fc.constant<string>(sig), caseVariant(sig), nonCanonical(sig)][family]!,
              { seed, numRuns: 1 },
            )[0]!
            const ts = verifyReading({
              ...signed,
              signature: { ...signed.signature, signature: variant as Hex },
            })
            const tsVerdict = ts.ok ? `ok:${ts.signer}` : ts.reason
            // The struct as a careless encoder would build it: the string as it came, unchecked.
            const chain = await onChain(chainId, reading, {
              ...oracleSignatureToStruct(signed.signature),
              sig: variant as Hex,
            })
            seen.add(`${ts.ok ? 'ok' : ts.reason} / ${chain.startsWith('ok') ? 'ok' : chain}`)
            if (ts.ok)
              assert.equal(chain, tsVerdict, `TS accepts ${JSON.stringify(variant)}, the chain does not`)
            else {
              assert.equal(ts.reason, 'encoding')
              // Only a dropped leading zero reaches the chain as the very signature (viem pads odd hex
              // on the left); TS refuses it all the same.
              if (chain === `ok:${device}`) {
                assert.equal(
                  `0x0${variant.slice(2)}`.toLowerCase(),
                  sig,
                  `the chain takes ${JSON.stringify(variant)}`,
                )
              }
            }
          },
        ),
        { numRuns: 60 },
      )
      assert.ok(seen.has('ok / ok') && seen.has('encoding / rpc-error:-32602'), [...seen].join(', '))
    })
  }
})
