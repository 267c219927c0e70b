import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import type {
  Answer,
  OracleSignature,
  Reading,
  SignedAnswer,
  SignedReading,
} from '../../oracles/message/types.ts'

const signatureOf = (input: VerifiedInput): OracleSignature =>
  input.curve === 'p256'
    ? { curve: 'p256', signature: input.signature, publicKey: input.publicKey ?? ('0x' as Hex) }
    : { curve: 'secp256k1', signature: input.signature }

/**
 * The signed answer an input source verified, in the form the app clients take
 * (`tvDeliveryActions.claim`). Throws on a reading.
 *
 * @example
 * ```ts
 * source.onInput((input) => { if (input.kind === 'answer') answers.push(verifiedInputToAnswer(input)) })
 * ```
 */
export function verifiedInputToAnswer(input: VerifiedInput): SignedAnswer {
  if (input.kind !== 'answer') throw new TypeError(`expected an answer, got a ${input.kind}`)
  return { chainId: input.chainId, answer: input.message as Answer, signature: signatureOf(input) }
}

/**
 * The signed reading an input source verified, in the form the app clients take. Throws on an answer.
 *
 * @example
 * ```ts
 * source.onInput((input) => { if (input.kind === 'reading') readings.push(verifiedInputToReading(input)) })
 * ```
 */
export function verifiedInputToReading(input: VerifiedInput): SignedReading {
  if (input.kind !== 'reading') throw new TypeError(`expected a reading, got an ${input.kind}`)
  return { chainId: input.chainId, reading: input.message as Reading, signature: signatureOf(input) }
}
