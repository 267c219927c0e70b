import type { Hex } from 'viem'
import type { VerifiedInput } from '../engine/inputs/types.ts'
import type {
  Answer,
  OracleSignature,
  Reading,
  SignedAnswer,
  SignedReading,
} from '../oracles/message/types.ts'

/** The verified readings and answers a node keeps for its `report` and `claim` actions. */
export type InputBook = {
  /** Keeps a verified input (a duplicate of one kept replaces it). */
  add(input: VerifiedInput): void
  /** Every answer kept to `questionId` with its oracle's signer id, one per oracle (its newest). */
  answers(questionId: Hex): { signer: Hex; signed: SignedAnswer }[]
  /** The readings kept of `device` with a sequence above `after`, in increasing sequence order. */
  readings(device: Hex, after: bigint): SignedReading[]
  size(): number
}

const signatureOf = (input: VerifiedInput): OracleSignature =>
  input.curve === 'p256'
    ? { curve: 'p256', signature: input.signature, publicKey: input.publicKey ?? '0x' }
    : { curve: 'secp256k1', signature: input.signature }

/**
 * A bounded in-memory book of verified inputs: the newest answer of each oracle per question,
 * and the readings of each device by sequence (the oldest dropped beyond `maxPerDevice`).
 *
 * @example
 * ```ts
 * const book = createInputBook()
 * source.onInput((input) => book.add(input))
 * const readings = book.readings(device, lastSequence)
 * ```
 */
export function createInputBook(options: { maxPerDevice?: number; maxQuestions?: number } = {}): InputBook {
  const maxPerDevice = options.maxPerDevice ?? 10_000
  const maxQuestions = options.maxQuestions ?? 10_000
  const answers = new Map<string, Map<string, SignedAnswer>>()
  const readings = new Map<string, Map<bigint, SignedReading>>()
  let count = 0
  return {
    add(input) {
      const signer = input.signer.toLowerCase()
      if (input.kind === 'answer') {
        const answer = input.message as Answer
        const q = answer.questionId.toLowerCase()
        let byOracle = answers.get(q)
        if (byOracle === undefined) {
          if (answers.size >= maxQuestions) {
            const oldest = answers.keys().next().value
            if (oldest !== undefined) {
              count -= answers.get(oldest)?.size ?? 0
              answers.delete(oldest)
            }
          }
          byOracle = new Map()
          answers.set(q, byOracle)
        }
        const held = byOracle.get(signer)
        if (held !== undefined && held.answer.timestamp > answer.timestamp) return
        if (held === undefined) count++
        byOracle.set(signer, { chainId: input.chainId, answer, signature: signatureOf(input) })
        return
      }
      const reading = input.message as Reading
      let bySeq = readings.get(signer)
      if (bySeq === undefined) {
        bySeq = new Map()
        readings.set(signer, bySeq)
      }
      if (!bySeq.has(reading.sequence)) count++
      bySeq.set(reading.sequence, { chainId: input.chainId, reading, signature: signatureOf(input) })
      if (bySeq.size > maxPerDevice) {
        const oldest = [...bySeq.keys()].reduce((a, b) => (b < a ? b : a))
        bySeq.delete(oldest)
        count--
      }
    },
    answers(questionId) {
      const byOracle = answers.get(questionId.toLowerCase())
      return [...(byOracle?.entries() ?? [])].map(([signer, signed]) => ({ signer: signer as Hex, signed }))
    },
    readings(device, after) {
      const bySeq = readings.get(device.toLowerCase())
      if (bySeq === undefined) return []
      return [...bySeq.values()]
        .filter((r) => r.reading.sequence > after)
        .sort((a, b) => (a.reading.sequence < b.reading.sequence ? -1 : 1))
    },
    size: () => count,
  }
}
