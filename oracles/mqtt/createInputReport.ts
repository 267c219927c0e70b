import type { InputRejection, InputRejectionEvent, InputRejectionVerdict } from '../../engine/inputs/types.ts'

/** Most refusals held for the first rejection handler (see `onRejection`). */
const EARLY_REJECTIONS_HELD = 1_000

const REASONS: readonly InputRejection[] = [
  'rate-limited',
  'schema',
  'wrong-chain',
  'topic',
  'signature',
  'unknown-signer',
  'replay',
  'stale',
  'future',
  'retained',
  'duplicate',
]

/** What an input source counts and tells its rejection handlers (see {@link createInputReport}). */
export type InputReport = {
  /** Counts a message accepted. */
  accept(): void
  /** Counts, logs and reports a refused message to the rejection handlers. */
  refuse(reason: InputRejection, detail: string, topic: string, verdict?: InputRejectionVerdict): void
  /** Registers a rejection handler; the first one is handed the refusals held until then. */
  onRejection(handler: (r: InputRejectionEvent) => void): () => void
  /** Accepted messages, refused ones by reason and by the validator's finer verdict. */
  stats(): {
    accepted: number
    rejected: Record<InputRejection, number>
    verdicts: Partial<Record<InputRejectionVerdict, number>>
  }
  /** Drops every rejection handler. */
  clear(): void
}

/**
 * The counts and the rejection handlers of an input source. Refusals made before the first
 * rejection handler is registered (a persistent session's backlog arrives as soon as the
 * connection is up, before the caller had the source) are held, up to a bound, and handed to that
 * handler: a refused redelivery is reported, not lost. A handler that throws is logged.
 *
 * @example
 * ```ts
 * const report = createInputReport(log)
 * report.refuse('rate-limited', 'the signer is over its rate', topic)
 * report.stats().rejected['rate-limited'] // 1
 * ```
 */
export function createInputReport(log: (line: string) => void): InputReport {
  const rejectionHandlers = new Set<(r: InputRejectionEvent) => void>()
  const early: InputRejectionEvent[] = []
  let accepted = 0
  const rejected = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<InputRejection, number>
  const verdicts: Partial<Record<InputRejectionVerdict, number>> = {}
  return {
    accept() {
      accepted++
    },
    refuse(reason, detail, topic, verdict = reason as InputRejectionVerdict) {
      rejected[reason]++
      verdicts[verdict] = (verdicts[verdict] ?? 0) + 1
      const event: InputRejectionEvent = { reason, verdict, detail, topic: topic.slice(0, 200) }
      log(`rejected (${verdict}) on ${event.topic}: ${detail}`)
      if (rejectionHandlers.size === 0 && early.length < EARLY_REJECTIONS_HELD) early.push(event)
      for (const h of rejectionHandlers) {
        try {
          h(event)
        } catch (e) {
          log(`a rejection handler threw: ${(e as Error).message}`)
        }
      }
    },
    onRejection(handler) {
      rejectionHandlers.add(handler)
      for (const event of early.splice(0)) {
        try {
          handler(event)
        } catch (e) {
          log(`a rejection handler threw: ${(e as Error).message}`)
        }
      }
      return () => rejectionHandlers.delete(handler)
    },
    stats() {
      return { accepted, rejected: { ...rejected }, verdicts: { ...verdicts } }
    },
    clear() {
      rejectionHandlers.clear()
    },
  }
}
