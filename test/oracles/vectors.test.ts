import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import type { Hex } from 'viem'
import { createTestVectors, type TestVectors } from '../../oracles/message/createTestVectors.ts'
import {
  hashAnswer,
  hashReading,
  oracleSignatureToStruct,
  verifyAnswer,
  verifyReading,
  type Answer,
  type OracleSignature,
  type Reading,
} from '../../oracles/message/index.ts'
import { createInputValidator } from '../../oracles/mqtt/createInputValidator.ts'
import { answerTopic } from '../../oracles/mqtt/answerTopic.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { createHarness } from './support.ts'

const file = JSON.parse(
  readFileSync(new URL('../../oracles/message/vectors.json', import.meta.url), 'utf8'),
) as TestVectors

const toReading = (m: Record<string, string>): Reading => ({
  device: m.device as Hex,
  sequence: BigInt(m.sequence ?? ''),
  timestamp: BigInt(m.timestamp ?? ''),
  kind: m.kind as Hex,
  value: BigInt(m.value ?? ''),
  unit: m.unit as Hex,
})
const toAnswer = (m: Record<string, string>): Answer => ({
  questionId: m.questionId as Hex,
  answer: m.answer as Hex,
  timestamp: BigInt(m.timestamp ?? ''),
})

describe('oracle message test vectors (oracles/message/vectors.json)', function () {
  let harness: Awaited<ReturnType<typeof createHarness>>
  before(async () => {
    harness = await createHarness()
  })

  it('the file is what createTestVectors() produces (regenerate with oracles/message/writeTestVectors.ts)', () => {
    assert.deepEqual(file, JSON.parse(JSON.stringify(createTestVectors())))
  })

  it('covers both curves, both kinds, and the negative cases', () => {
    const kinds = new Set(
      file.vectors.map((v) => `${v.kind}/${v.signature.curve}/${v.expect.ok ? 'ok' : 'bad'}`),
    )
    for (const k of [
      'reading/p256/ok',
      'reading/secp256k1/ok',
      'answer/p256/ok',
      'answer/secp256k1/ok',
      'reading/p256/bad',
      'reading/secp256k1/bad',
      'answer/p256/bad',
      'answer/secp256k1/bad',
    ])
      assert.ok(kinds.has(k), k)
    const reasons = new Set(file.vectors.flatMap((v) => (v.expect.ok ? [] : [v.expect.reason])))
    for (const r of ['encoding', 'high-s', 'length', 'v', 'invalid', 'wrong-signer'])
      assert.ok(reasons.has(r as never), r)
  })

  for (const v of file.vectors) {
    const where =
      !v.expect.ok && v.expect.reason === 'encoding'
        ? 'in TypeScript, and never an OracleSig'
        : 'in TypeScript and Solidity'
    it(`${v.name}: ${v.expect.ok ? 'valid' : v.expect.reason} ${where}`, async () => {
      const chainId = BigInt(v.chainId)
      const sig = v.signature as OracleSignature
      const expected = v.expect.ok ? `ok:${v.expect.signer}` : v.expect.reason
      // A string that is not 0x hex cannot reach Solidity: it must not even become an OracleSig.
      const solidity = (f: () => Promise<string>) =>
        expected === 'encoding'
          ? Promise.resolve(assert.throws(() => oracleSignatureToStruct(sig), /0x and hex/)).then(
              () => expected,
            )
          : f()
      if (v.kind === 'reading') {
        const reading = toReading(v.message)
        assert.equal(hashReading(chainId, reading), v.digest)
        const ts = verifyReading({ chainId, reading, signature: sig })
        assert.equal(ts.ok ? `ok:${ts.signer}` : ts.reason, expected)
        const sol = await solidity(async () => {
          const r = await harness.call('verifyReading', [chainId, reading, oracleSignatureToStruct(sig)])
          return r.ok ? `ok:${String(r.result)}` : r.reason
        })
        assert.equal(sol, expected)
      } else {
        const answer = toAnswer(v.message)
        assert.equal(hashAnswer(chainId, answer), v.digest)
        const ts = verifyAnswer({ chainId, answer, signature: sig })
        assert.equal(ts.ok ? `ok:${ts.signer}` : ts.reason, expected)
        const sol = await solidity(async () => {
          const r = await harness.call('signerOf', [v.digest, oracleSignatureToStruct(sig)])
          return r.ok ? `ok:${String(r.result)}` : r.reason
        })
        assert.equal(sol, expected)
      }
      if (v.envelope !== undefined) {
        const validator = createInputValidator({
          chainId,
          devices: 'any',
          oracles: 'any',
          now: () => 1_700_000_100_000,
        })
        const topic =
          v.kind === 'reading'
            ? readingTopic(v.message.device as Hex)
            : answerTopic((v.expect as { signer: Hex }).signer)
        const verdict = validator.check(topic, JSON.stringify(v.envelope))
        assert.equal(verdict.ok, true, verdict.ok ? '' : `${verdict.reason}: ${verdict.detail}`)
      }
    })
  }
})
