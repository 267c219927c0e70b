import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { checkEnvelope, type CheckedEnvelope } from './checkEnvelope.ts'
import type { InputDelivery } from './createInputDelivery.ts'
import type { InputReport } from './createInputReport.ts'
import type { InputValidator } from './createInputValidator.ts'
import type { SignerRateLimiter } from './createSignerRateLimiter.ts'
import { createVerifierPool, type VerifierPool } from './createVerifierPool.ts'

/** What {@link createPipelinedIntake} is given by its input source. */
export type PipelinedIntakeContext = {
  validator: InputValidator
  limiter: SignerRateLimiter
  limitedSigner(topic: string): string | undefined
  report: InputReport
  delivery: Pick<InputDelivery, 'runHandlers'>
  log: (line: string) => void
  now: () => number
  /** Worker threads of the verifier pool (above 1). */
  threads: number
  /** Messages in a batch sent to a thread, at most. */
  batchSize: number
}

/** The message handler of an input source with verifier threads, and its lifecycle. */
export type PipelinedIntake = {
  /** Hands a message to the threads; settles once it may be acknowledged (rejects: it must not be). */
  onMessage(topic: string, payload: Buffer, packet: { retain: boolean }): Promise<void> | undefined
  /** Starts the threads now and resolves once they are loaded. */
  ready(): Promise<void>
  /**
   * Refuses what waits for a batch or is checked on the threads (never acknowledged: the broker
   * sends it again), ends the threads, and waits up to `timeoutMs` for the batches being judged.
   */
  close(timeoutMs: number): Promise<void>
}

type Waiting = {
  topic: string
  payload: Buffer
  signer: string | undefined
  resolve: () => void
  reject: (e: unknown) => void
}

/**
 * Verification on worker threads: messages are handed over as they arrive, checked in batches on
 * the threads ({@link createVerifierPool}), then judged by the replay memory, handed to the
 * handlers and acknowledged in the order they arrived. The pool starts with the first message to
 * check (or with `ready`): a source that receives nothing costs no thread.
 *
 * @example
 * ```ts
 * const intake = createPipelinedIntake({ validator, limiter, limitedSigner, report, delivery, log, now, threads: 2, batchSize: 32 })
 * await connectMqtt({ url, onMessage: intake.onMessage, maxInFlight: 200 })
 * ```
 */
export function createPipelinedIntake(ctx: PipelinedIntakeContext): PipelinedIntake {
  const { validator, limiter, limitedSigner, report, delivery, log, now, threads, batchSize } = ctx
  const refuse = report.refuse
  let pool: VerifierPool | undefined
  const checkSettings = validator.settings()
  const startPool = (): VerifierPool =>
    (pool ??= createVerifierPool({ threads, settings: checkSettings, log }))
  let batch: Waiting[] = []
  let flushTimer: NodeJS.Immediate | undefined
  let tail: Promise<void> = Promise.resolve()
  let stopped = false

  // Every input of a batch whose handlers completed is marked durable in one transaction, then
  // all of them are acknowledged; a store that fails leaves all of them unacknowledged.
  const commitBatch = (done: { input: VerifiedInput; waiting: Waiting }[]) => {
    if (done.length === 0) return
    try {
      validator.commitAll(done.map((d) => d.input))
    } catch (e) {
      log(`replay marks not recorded: ${(e as Error)?.message ?? String(e)}`)
      for (const d of [...done].reverse()) validator.forget(d.input)
      for (const d of done) d.waiting.reject(e)
      return
    }
    for (const d of done) d.waiting.resolve()
  }

  const judgeBatch = async (items: readonly Waiting[], results: readonly CheckedEnvelope[]) => {
    const done: { input: VerifiedInput; waiting: Waiting }[] = []
    for (let i = 0; i < items.length; i++) {
      const waiting = items[i] as Waiting
      if (stopped) {
        if (waiting.signer !== undefined) limiter.release(waiting.signer)
        waiting.reject(new Error('input source closed'))
        continue
      }
      const verdict = validator.admit(waiting.topic, results[i] as CheckedEnvelope)
      // A forgery (or a copy, or garbage) on a device's topic is charged to the topic, never to
      // the device: only what verified and was accepted spends the device's own budget.
      if (waiting.signer !== undefined) limiter.settle(waiting.signer, verdict.ok, performance.now())
      if (!verdict.ok) {
        refuse(verdict.reason, verdict.detail, waiting.topic, verdict.verdict)
        waiting.resolve()
        continue
      }
      report.accept()
      const input = verdict.input
      try {
        const running = delivery.runHandlers(input)
        if (running !== undefined) await running
        done.push({ input, waiting })
      } catch (e) {
        log(`an input handler threw: ${(e as Error)?.message ?? String(e)}`)
        // The broker's copy must be accepted again, not dropped as a duplicate.
        validator.forget(input)
        waiting.reject(e)
      }
    }
    commitBatch(done)
  }

  const flush = () => {
    flushTimer = undefined
    if (batch.length === 0) return
    const items = batch
    batch = []
    const checked = startPool().check(
      items.map((w) => ({ topic: w.topic, payload: w.payload, allowed: w.signer !== undefined })),
      now(),
    )
    // Checked on the threads in parallel, judged here in the order the batches were sent.
    tail = tail.then(() =>
      checked.then(
        (results) => judgeBatch(items, results),
        (e: unknown) => {
          log(`messages not checked: ${(e as Error)?.message ?? String(e)}`)
          for (const w of items) {
            if (w.signer !== undefined) limiter.release(w.signer)
            w.reject(e)
          }
        },
      ),
    )
  }

  const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
    if (packet.retain) {
      // Refused whatever it holds; acknowledged in its turn.
      const verdict = validator.check(topic, payload, { retained: true })
      if (!verdict.ok) refuse(verdict.reason, verdict.detail, topic, verdict.verdict)
      return
    }
    const signer = limitedSigner(topic)
    if (signer === undefined) {
      // A topic that names no allowed signer is refused before any cryptography (`topic`,
      // `unknown-signer` or earlier; `allowed: false` can never pass): judged here at once, as
      // without threads, with no state touched, so a flood of unknown ids never waits for the
      // threads nor holds up the connection.
      const checked = checkEnvelope({ topic, payload, allowed: false }, checkSettings, now())
      const verdict = validator.admit(topic, checked)
      if (!verdict.ok) refuse(verdict.reason, verdict.detail, topic, verdict.verdict)
      return
    }
    if (!limiter.admit(signer, performance.now())) {
      refuse('rate-limited', 'the signer is over its rate, or all signers are over theirs', topic)
      return
    }
    return new Promise<void>((resolve, reject) => {
      batch.push({ topic, payload, signer, resolve, reject })
      if (batch.length >= batchSize) {
        clearImmediate(flushTimer)
        flush()
      } else flushTimer ??= setImmediate(flush)
    })
  }

  return {
    onMessage,
    ready: () => startPool().ready(),
    async close(timeoutMs) {
      stopped = true
      clearImmediate(flushTimer)
      for (const w of batch) {
        if (w.signer !== undefined) limiter.release(w.signer)
        w.reject(new Error('input source closed'))
      }
      batch = []
      // What the threads still check is refused (never acknowledged: the broker sends it again).
      await pool?.close()
      // A handler that never settles cannot hold close() up.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([tail, new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
      clearTimeout(timer)
    },
  }
}
