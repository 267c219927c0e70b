import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
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
  /** Keeps a verified input (a duplicate of one kept replaces it); on disk before it returns when the book has a file. */
  add(input: VerifiedInput): void
  /** Every answer kept to `questionId` with its oracle's signer id, one per oracle (its newest). */
  answers(questionId: Hex): { signer: Hex; signed: SignedAnswer }[]
  /** The readings kept of `device` with a sequence above `after`, in increasing sequence order. */
  readings(device: Hex, after: bigint): SignedReading[]
  size(): number
}

/** Options of {@link createInputBook}. */
export type InputBookOptions = {
  /** Most readings kept per device (the oldest sequence goes first). Default 10,000. */
  maxPerDevice?: number
  /** Most questions whose answers are kept (the first seen goes first). Default 10,000. */
  maxQuestions?: number
  /**
   * A file (JSON lines) that keeps the book across restarts: read at creation (a torn last line is
   * skipped), rewritten with what the book holds, then appended to on every `add`.
   */
  path?: string
}

const signatureOf = (input: VerifiedInput): OracleSignature =>
  input.curve === 'p256'
    ? { curve: 'p256', signature: input.signature, publicKey: input.publicKey ?? '0x' }
    : { curve: 'secp256k1', signature: input.signature }

const toLine = (input: VerifiedInput): string =>
  JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v))

const fromLine = (line: string): VerifiedInput =>
  JSON.parse(line, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && '$bigint' in v) {
      const b = (v as { $bigint: unknown }).$bigint
      if (typeof b === 'string' && /^-?\d+$/.test(b)) return BigInt(b)
    }
    return v
  }) as VerifiedInput

/** Adds `v` to the binary min-heap `h`. */
function heapPush(h: bigint[], v: bigint): void {
  let i = h.length
  h.push(v)
  while (i > 0) {
    const parent = (i - 1) >> 1
    if ((h[parent] as bigint) <= v) break
    h[i] = h[parent] as bigint
    i = parent
  }
  h[i] = v
}

/** Takes the least value out of the binary min-heap `h` (undefined when it is empty). */
function heapPop(h: bigint[]): bigint | undefined {
  const top = h[0]
  const last = h.pop()
  if (h.length === 0 || last === undefined) return top
  let i = 0
  for (;;) {
    const l = 2 * i + 1
    if (l >= h.length) break
    const r = l + 1
    const c = r < h.length && (h[r] as bigint) < (h[l] as bigint) ? r : l
    if ((h[c] as bigint) >= last) break
    h[i] = h[c] as bigint
    i = c
  }
  h[i] = last
  return top
}

/**
 * A bounded book of verified inputs: the newest answer of each oracle per question, and the
 * readings of each device by sequence (the oldest dropped beyond `maxPerDevice`). With `path` it
 * survives restarts, so readings acknowledged to the broker before a restart can still be reported.
 *
 * @example
 * ```ts
 * const book = createInputBook({ path: join(dataDir, 'inputs.jsonl') })
 * source.onInput((input) => book.add(input))
 * const readings = book.readings(device, lastSequence)
 * ```
 */
export function createInputBook(options: InputBookOptions = {}): InputBook {
  const maxPerDevice = options.maxPerDevice ?? 10_000
  const maxQuestions = options.maxQuestions ?? 10_000
  type Kept<T> = { input: VerifiedInput; signed: T }
  const answers = new Map<string, Map<string, Kept<SignedAnswer>>>()
  // Each device's readings by sequence, and its sequences in a min-heap: the oldest to drop is
  // found in log time, not by a scan of up to `maxPerDevice` keys on every reading once full.
  const readings = new Map<string, Map<bigint, Kept<SignedReading>>>()
  const lowest = new Map<string, bigint[]>()
  let count = 0

  const keep = (input: VerifiedInput): void => {
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
      if (held !== undefined && held.signed.answer.timestamp > answer.timestamp) return
      if (held === undefined) count++
      byOracle.set(signer, {
        input,
        signed: { chainId: input.chainId, answer, signature: signatureOf(input) },
      })
      return
    }
    const reading = input.message as Reading
    let bySeq = readings.get(signer)
    let heap = lowest.get(signer)
    if (bySeq === undefined || heap === undefined) {
      bySeq = new Map()
      heap = []
      readings.set(signer, bySeq)
      lowest.set(signer, heap)
    }
    if (!bySeq.has(reading.sequence)) {
      count++
      heapPush(heap, reading.sequence)
    }
    bySeq.set(reading.sequence, {
      input,
      signed: { chainId: input.chainId, reading, signature: signatureOf(input) },
    })
    if (bySeq.size > maxPerDevice) {
      bySeq.delete(heapPop(heap) as bigint)
      count--
    }
  }

  const path = options.path
  if (path !== undefined) {
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue
        try {
          keep(fromLine(line))
        } catch {
          // a line torn by a crash: the input it held was not acknowledged, the broker sends it again
        }
      }
    }
    const all = [
      ...[...answers.values()].flatMap((m) => [...m.values()]),
      ...[...readings.values()].flatMap((m) => [...m.values()]),
    ]
    const tmp = `${path}.tmp`
    writeFileSync(tmp, all.map((k) => `${toLine(k.input)}\n`).join(''))
    renameSync(tmp, path)
  }

  return {
    add(input) {
      if (path !== undefined) appendFileSync(path, `${toLine(input)}\n`)
      keep(input)
    },
    answers(questionId) {
      const byOracle = answers.get(questionId.toLowerCase())
      return [...(byOracle?.entries() ?? [])].map(([signer, k]) => ({
        signer: signer as Hex,
        signed: k.signed,
      }))
    },
    readings(device, after) {
      const bySeq = readings.get(device.toLowerCase())
      if (bySeq === undefined) return []
      return [...bySeq.values()]
        .map((k) => k.signed)
        .filter((r) => r.reading.sequence > after)
        .sort((a, b) => (a.reading.sequence < b.reading.sequence ? -1 : 1))
    },
    size: () => count,
  }
}
