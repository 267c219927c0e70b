import type { Hex } from 'viem'
import type { AnswerEnvelope } from './envelopeSchema.ts'
import type { SignedAnswer } from './types.ts'

/**
 * The MQTT JSON envelope of a signed answer (publish `JSON.stringify` of it to
 * `chanvm/v1/oracles/{oracle}/answers`). `oracle` is the signer id of the key that signed.
 *
 * @example
 * ```ts
 * const envelope = answerToEnvelope(signAnswer({ chainId, answer, key }), getSignerId(key))
 * ```
 */
export function answerToEnvelope(signed: SignedAnswer, oracle: Hex): AnswerEnvelope {
  const { answer, signature } = signed
  return {
    v: 1,
    type: 'answer',
    chainId: signed.chainId.toString(),
    oracle: oracle.toLowerCase(),
    questionId: answer.questionId.toLowerCase(),
    answer: answer.answer.toLowerCase(),
    timestamp: answer.timestamp.toString(),
    curve: signature.curve,
    ...(signature.curve === 'p256' ? { publicKey: signature.publicKey.toLowerCase() } : {}),
    signature: signature.signature.toLowerCase(),
  }
}
