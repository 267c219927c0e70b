/**
 * The entry of a verifier thread ({@link createVerifierPool}): checks the batches of messages it
 * is sent with {@link checkEnvelope} and posts the verdicts back, in the batch's order.
 */
import { parentPort, workerData } from 'node:worker_threads'
import {
  checkEnvelope,
  type CheckedEnvelope,
  type EnvelopeCheckSettings,
  type EnvelopeJob,
} from './checkEnvelope.ts'

/** What a verifier thread is started with. */
export type VerifierThreadData = { kind: 'chanvm-verifier'; settings: EnvelopeCheckSettings }

/** A batch sent to a verifier thread, and what it answers. */
export type CheckBatch = { id: number; nowMs: number; jobs: EnvelopeJob[] }
export type CheckBatchResult = { id: number; results: CheckedEnvelope[] }

/**
 * Checks every job of a batch against the same clock, in order.
 *
 * @example
 * ```ts
 * const verdicts = checkEnvelopesInWorker(jobs, { chainId: 31337n, maxAgeSec: 300, maxFutureSec: 30 }, Date.now())
 * ```
 */
export function checkEnvelopesInWorker(
  jobs: readonly EnvelopeJob[],
  settings: EnvelopeCheckSettings,
  nowMs: number,
): CheckedEnvelope[] {
  return jobs.map((job) => checkEnvelope(job, settings, nowMs))
}

const data = workerData as Partial<VerifierThreadData> | null | undefined
if (parentPort !== null && data?.kind === 'chanvm-verifier' && data.settings !== undefined) {
  const port = parentPort
  const settings = data.settings
  port.on('message', (batch: CheckBatch) => {
    const answer: CheckBatchResult = {
      id: batch.id,
      results: checkEnvelopesInWorker(batch.jobs, settings, batch.nowMs),
    }
    port.postMessage(answer)
  })
  port.postMessage({ ready: true })
}
