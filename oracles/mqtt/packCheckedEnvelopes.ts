import type { Hex } from 'viem'
import type { OracleSignature } from '../message/types.ts'
import type { CheckedEnvelope, EnvelopeVerdictName } from './checkEnvelope.ts'

/**
 * Verdicts as one flat array of strings and bigints, for a verifier thread to post back: the
 * structured clone of a flat array of primitives costs a third of the same verdicts as nested
 * objects (whose every object is written with its property names). Each verdict is a tag and its
 * fields: `0, verdict, detail` (refused); `1, digest, chainId, device, sequence, timestamp, kind,
 * value, unit, curve, signature, publicKey` (a reading); `2, digest, chainId, oracle, questionId,
 * answer, timestamp, curve, signature, publicKey` (an answer); `publicKey` is `''` for secp256k1.
 */
export type PackedVerdicts = (string | bigint | number)[]

/**
 * Packs verdicts for {@link unpackCheckedEnvelopes}.
 *
 * @example
 * ```ts
 * port.postMessage({ id, results: packCheckedEnvelopes(verdicts) })
 * ```
 */
export function packCheckedEnvelopes(results: readonly CheckedEnvelope[]): PackedVerdicts {
  const out: PackedVerdicts = []
  for (const r of results) {
    if (!r.ok) {
      out.push(0, r.verdict, r.detail)
      continue
    }
    const { content, digest } = r
    const sig = content.signed.signature
    const publicKey = sig.curve === 'p256' ? sig.publicKey : ''
    if (content.type === 'reading') {
      const m = content.signed.reading
      out.push(1, digest, content.signed.chainId, m.device, m.sequence, m.timestamp, m.kind, m.value, m.unit)
    } else {
      const m = content.signed.answer
      out.push(2, digest, content.signed.chainId, content.signer, m.questionId, m.answer, m.timestamp)
    }
    out.push(sig.curve, sig.signature, publicKey)
  }
  return out
}

/**
 * The verdicts {@link packCheckedEnvelopes} packed, as {@link checkEnvelope} gave them.
 *
 * @example
 * ```ts
 * const verdicts = unpackCheckedEnvelopes(answer.results)
 * ```
 */
export function unpackCheckedEnvelopes(packed: PackedVerdicts): CheckedEnvelope[] {
  const out: CheckedEnvelope[] = []
  let i = 0
  const next = () => packed[i++]
  while (i < packed.length) {
    const tag = next()
    if (tag === 0) {
      out.push({ ok: false, verdict: next() as EnvelopeVerdictName, detail: next() as string })
      continue
    }
    const digest = next() as Hex
    const chainId = next() as bigint
    if (tag === 1) {
      const reading = {
        device: next() as Hex,
        sequence: next() as bigint,
        timestamp: next() as bigint,
        kind: next() as Hex,
        value: next() as bigint,
        unit: next() as Hex,
      }
      const signature = signatureOf(next() as string, next() as Hex, next() as Hex)
      out.push({
        ok: true,
        digest,
        content: { type: 'reading', signer: reading.device, signed: { chainId, reading, signature } },
      })
    } else {
      const signer = next() as Hex
      const answer = { questionId: next() as Hex, answer: next() as Hex, timestamp: next() as bigint }
      const signature = signatureOf(next() as string, next() as Hex, next() as Hex)
      out.push({
        ok: true,
        digest,
        content: { type: 'answer', signer, signed: { chainId, answer, signature } },
      })
    }
  }
  return out
}

function signatureOf(curve: string, signature: Hex, publicKey: Hex): OracleSignature {
  return curve === 'p256' ? { curve: 'p256', signature, publicKey } : { curve: 'secp256k1', signature }
}
