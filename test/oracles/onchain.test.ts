import { strict as assert } from 'node:assert'
import { encodeFunctionData, type Address, type Hex } from 'viem'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import {
  getSignerId,
  oracleSignatureToStruct,
  P256_N,
  signReading,
  textToBytes32,
  verifyReading,
  type SignedReading,
} from '../../oracles/message/index.ts'
import { createHarness, deployHarness, harnessKeys, harnessVerdict, type HarnessVerdict } from './support.ts'

/** Extracts the revert data viem attaches to a failed eth_call. */
function revertDataOf(e: unknown): Hex | undefined {
  let cur: unknown = e
  while (cur !== undefined && cur !== null && typeof cur === 'object') {
    const data = (cur as { data?: unknown }).data
    if (typeof data === 'string' && data.startsWith('0x')) return data as Hex
    if (typeof data === 'object' && data !== null && typeof (data as { data?: unknown }).data === 'string')
      return (data as { data: Hex }).data
    cur = (cur as { cause?: unknown }).cause
  }
  return undefined
}

describe('OracleMessages on anvil (osaka: the P-256 precompile at 0x100) and in the sandbox: same verdict as TypeScript', function () {
  let anvil: Anvil
  let harnessAddress: Address
  let call: (
    data: Hex,
  ) => Promise<{ ok: true; returnData: Hex } | { ok: false; revertData?: Hex | undefined; message: string }>
  let sandbox: Awaited<ReturnType<typeof createHarness>>

  before(async function () {
    anvil = await startAnvil()
    const deployed = await deployHarness(anvil)
    const client = deployed.client
    harnessAddress = deployed.address
    call = async (data) => {
      try {
        const r = await client.call({ to: harnessAddress, data })
        return { ok: true, returnData: r.data ?? '0x' }
      } catch (e) {
        return { ok: false, revertData: revertDataOf(e), message: (e as Error).message.split('\n')[0] ?? '' }
      }
    }
    sandbox = await createHarness()
  })
  after(async () => {
    await anvil?.stop()
  })

  const verdicts = async (s: SignedReading): Promise<{ ts: string; sandbox: string; chain: string }> => {
    const ts = verifyReading(s)
    const args = [s.chainId, s.reading, oracleSignatureToStruct(s.signature)] as const
    const show = (v: HarnessVerdict) => (v.ok ? `ok:${String(v.result)}` : v.reason)
    const onChain = harnessVerdict(
      'verifyReading',
      await call(encodeFunctionData({ abi: OracleMessagesHarness.abi, functionName: 'verifyReading', args })),
    )
    return {
      ts: ts.ok ? `ok:${ts.signer}` : ts.reason,
      sandbox: show(await sandbox.call('verifyReading', args)),
      chain: show(onChain),
    }
  }

  for (const key of harnessKeys) {
    describe(`${key.curve} reading`, () => {
      const make = (chainId: bigint, value = -18_250n) =>
        signReading({
          chainId,
          key,
          reading: {
            device: getSignerId(key),
            sequence: 9n,
            timestamp: 1_700_000_000n,
            kind: textToBytes32('temperature'),
            value,
            unit: textToBytes32('mC'),
          },
        })

      it('valid: TypeScript, the sandbox and anvil all return the device id', async () => {
        const v = await verdicts(make(BigInt(anvil.chainId)))
        const expected = `ok:${getSignerId(key)}`
        assert.deepEqual(v, { ts: expected, sandbox: expected, chain: expected })
      })

      it('tampered value, and the high-s twin: all three refuse with the same reason', async () => {
        const s = make(BigInt(anvil.chainId))
        const tampered = await verdicts({ ...s, reading: { ...s.reading, value: 0n } })
        assert.equal(tampered.ts.startsWith('ok'), false)
        assert.deepEqual([tampered.sandbox, tampered.chain], [tampered.ts, tampered.ts])
        const sig = s.signature.signature
        const n =
          key.curve === 'p256' ? P256_N : 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
        const highS = (BigInt(`0x${sig.slice(66, 130)}`) * -1n + n).toString(16).padStart(64, '0')
        const v = key.curve === 'p256' ? '' : sig.slice(130) === '1b' ? '1c' : '1b'
        const twin = await verdicts({
          ...s,
          signature: { ...s.signature, signature: `${sig.slice(0, 66)}${highS}${v}` as Hex },
        })
        assert.deepEqual(twin, { ts: 'high-s', sandbox: 'high-s', chain: 'high-s' })
      })

      it('signed for another chain id: refused on this one by all three', async () => {
        const s = make(1n)
        const v = await verdicts({ ...s, chainId: BigInt(anvil.chainId) })
        assert.equal(v.ts.startsWith('ok'), false)
        assert.deepEqual([v.sandbox, v.chain], [v.ts, v.ts])
      })
    })
  }
})
