// Verdicts as a verifier thread posts them back: packed flat, then unpacked to what checkEnvelope gave.
import { strict as assert } from 'node:assert'
import { serialize, deserialize } from 'node:v8'
import type { Hex } from 'viem'
import { answerToEnvelope } from '../../oracles/message/answerToEnvelope.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import { answerTopic } from '../../oracles/mqtt/answerTopic.ts'
import { checkEnvelope, type EnvelopeJob } from '../../oracles/mqtt/checkEnvelope.ts'
import { packCheckedEnvelopes, unpackCheckedEnvelopes } from '../../oracles/mqtt/packCheckedEnvelopes.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { CHAIN, NOW_MS, NOW_S, deviceKeys, forgedSignature, validAnswer, validReading } from './hostile.ts'

const SETTINGS = { chainId: CHAIN, maxAgeSec: 300, maxFutureSec: 30 }
const QUESTION = `0x${'ab'.repeat(32)}` as Hex

/** A P-256 answer (the fixtures' oracle signs with secp256k1). */
function p256Answer(): EnvelopeJob {
  const key = deviceKeys.p256
  const signed = signAnswer({
    chainId: CHAIN,
    key,
    answer: { questionId: QUESTION, answer: textToBytes32('late'), timestamp: NOW_S },
  })
  return {
    topic: answerTopic(getSignerId(key)),
    payload: JSON.stringify(answerToEnvelope(signed, getSignerId(key))),
    allowed: true,
  }
}

describe('packed verdicts of the verifier threads', () => {
  it('unpack to exactly the verdicts checkEnvelope gave, readings and answers of both curves and refusals', () => {
    const reading = (curve: 'p256' | 'secp256k1', over = {}, value?: bigint) => {
      const e = { ...validReading(curve, value === undefined ? {} : { value }), ...over }
      return { topic: readingTopic(e.device as Hex), payload: JSON.stringify(e), allowed: true }
    }
    const jobs: EnvelopeJob[] = [
      reading('p256'),
      reading('secp256k1', {}, -12_345n),
      { ...validAnswer(QUESTION), allowed: true },
      p256Answer(),
      reading('p256', { signature: forgedSignature('p256') }),
      { topic: 'chanvm/v1/devices/x/readings', payload: '{"v":1', allowed: true },
      { ...reading('secp256k1'), allowed: false },
      reading('secp256k1'),
    ]
    const verdicts = jobs.map((j) => checkEnvelope(j, SETTINGS, NOW_MS))
    assert.deepEqual(
      verdicts.map((v) => (v.ok ? v.content.type : v.verdict)),
      ['reading', 'reading', 'answer', 'answer', 'bad-signature', 'malformed', 'unknown-signer', 'reading'],
    )
    // Through the structured clone, as between threads.
    const packed = deserialize(serialize(packCheckedEnvelopes(verdicts))) as ReturnType<
      typeof packCheckedEnvelopes
    >
    assert.ok(
      packed.every((x) => typeof x !== 'object'),
      'only primitives cross the thread boundary',
    )
    assert.deepEqual(unpackCheckedEnvelopes(packed), verdicts)
    assert.deepEqual(unpackCheckedEnvelopes(packCheckedEnvelopes([])), [])
  })
})
