/**
 * The entry of a verifier thread ({@link createVerifierPool}): checks the batches of messages it
 * is sent with {@link checkEnvelope} and posts the verdicts back, in the batch's order.
 */
import { parentPort, workerData } from 'node:worker_threads'
import {
  checkEnvelope,
  prepareEnvelopeCheck,
  type CheckedEnvelope,
  type EnvelopeCheckSettings,
  type EnvelopeJob,
} from './checkEnvelope.ts'
import { packCheckedEnvelopes, type PackedVerdicts } from './packCheckedEnvelopes.ts'

/** What a verifier thread is started with. */
export type VerifierThreadData = { kind: 'chanvm-verifier'; settings: EnvelopeCheckSettings }

/**
 * A batch sent to a verifier thread, packed for one cheap hand-over: the payloads back to back in
 * `bytes` (job i's is `bytes[ends[i - 1] ?? 0 .. ends[i]]`), both buffers transferred, not copied;
 * `flags[i]` has bit 0 for `allowed` and bit 1 for `retained`. (A payload as MQTT.js hands it over
 * is a view into the socket's read buffer: cloned as it is, every job would copy that whole buffer.)
 */
export type CheckBatch = {
  id: number
  nowMs: number
  topics: string[]
  flags: Uint8Array<ArrayBuffer>
  ends: Uint32Array<ArrayBuffer>
  bytes: Uint8Array<ArrayBuffer>
}
/** A batch's verdicts, in its jobs' order, packed ({@link packCheckedEnvelopes}). */
export type CheckBatchResult = { id: number; results: PackedVerdicts }

/** The jobs a {@link CheckBatch} carries, their payloads as views into its buffer. */
function unpack(batch: CheckBatch): EnvelopeJob[] {
  const jobs: EnvelopeJob[] = []
  let start = 0
  for (let i = 0; i < batch.topics.length; i++) {
    const end = batch.ends[i] ?? start
    const flags = batch.flags[i] ?? 0
    jobs.push({
      topic: batch.topics[i] as string,
      payload: batch.bytes.subarray(start, end),
      allowed: (flags & 1) !== 0,
      ...((flags & 2) !== 0 ? { retained: true } : {}),
    })
    start = end
  }
  return jobs
}

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
      results: packCheckedEnvelopes(checkEnvelopesInWorker(unpack(batch), settings, batch.nowMs)),
    }
    port.postMessage(answer)
  })
  // Ready once the schema is compiled: the first batch does not wait for it.
  prepareEnvelopeCheck()
  port.postMessage({ ready: true })
}
