import { Worker } from 'node:worker_threads'
import { ChanvmError } from '../../engine/errors.ts'
import { threadSource } from '../../engine/threadEntry.ts'
import {
  checkEnvelope,
  type CheckedEnvelope,
  type EnvelopeCheckSettings,
  type EnvelopeJob,
} from './checkEnvelope.ts'
import type { CheckBatch, CheckBatchResult, VerifierThreadData } from './checkEnvelopesInWorker.ts'
import { unpackCheckedEnvelopes } from './packCheckedEnvelopes.ts'

/** Options of {@link createVerifierPool}. */
export type VerifierPoolOptions = {
  /** Worker threads. 0 or 1: no thread, every batch is checked on the calling thread. */
  threads: number
  /** The validator's settings (`validator.settings()`). */
  settings: EnvelopeCheckSettings
  /** Where a thread's failure is reported. Default: nowhere. */
  log?: (line: string) => void
  /**
   * A thread that dies is replaced and its batches sent to the new one; after this many deaths in
   * a row with no batch completed in between the pool fails: every batch in flight and every
   * later one is refused with `WORKER_FAILED`. Default 3. A batch that was in flight on two
   * threads that died is refused with `WORKER_FAILED` too.
   */
  maxRestartsInARow?: number
}

/** Worker threads that run {@link checkEnvelope} on batches of messages. */
export type VerifierPool = {
  /** How many worker threads check (0: on the calling thread). */
  readonly threads: number
  /**
   * Checks a batch against one clock; resolves with a verdict per job, in the jobs' order.
   * Batches are spread over the threads (the least loaded first) and several may be in flight;
   * each call's promise carries its own batch's verdicts. Rejects with `WORKER_FAILED` when the
   * pool is closed or failed (see {@link VerifierPoolOptions.maxRestartsInARow}).
   */
  check(jobs: readonly EnvelopeJob[], nowMs: number): Promise<CheckedEnvelope[]>
  /**
   * Resolves once every thread has loaded and can check (at once without threads); rejects with
   * `WORKER_FAILED` when the pool failed or was closed first.
   */
  ready(): Promise<void>
  /** The worker threads now running (for monitoring; a replaced one is gone from the list). */
  workers(): readonly Worker[]
  /** Batches completed, threads replaced, jobs in flight. */
  stats(): { batches: number; restarts: number; inFlight: number }
  /**
   * Refuses what is in flight (`WORKER_FAILED`) and ends every thread; resolves once they exited.
   * Idempotent.
   */
  close(): Promise<void>
}

type Batch = {
  id: number
  jobs: readonly EnvelopeJob[]
  nowMs: number
  attempts: number
  resolve: (results: CheckedEnvelope[]) => void
  reject: (e: Error) => void
}
type Slot = { worker: Worker; pending: Map<number, Batch>; load: number; ready: Promise<void> }

/**
 * The thread's entry the `chanvm` bundle emits beside itself (cli/build.ts defines it as the URL
 * of `dist/chanvm/checkEnvelopesInWorker.mjs`); not defined when running from the sources.
 */
declare const CHANVM_BUNDLED_VERIFIER_ENTRY: string | undefined

/**
 * How a thread starts (engine/threadEntry.ts): the bundle's built entry, else the sources, or a
 * `checkEnvelopesInWorker.mjs` a bundle that inlines this file ships beside it (see
 * test/support/childScripts.ts).
 */
const workerSource = () =>
  threadSource(
    typeof CHANVM_BUNDLED_VERIFIER_ENTRY === 'string' ? CHANVM_BUNDLED_VERIFIER_ENTRY : undefined,
    import.meta.url,
    'checkEnvelopesInWorker',
  )

/** A batch as one message whose buffers are transferred (see {@link CheckBatch}). */
function pack(batch: Batch): CheckBatch {
  const n = batch.jobs.length
  const topics: string[] = new Array<string>(n)
  const flags = new Uint8Array(n)
  const ends = new Uint32Array(n)
  const payloads: Uint8Array[] = new Array<Uint8Array>(n)
  let size = 0
  for (let i = 0; i < n; i++) {
    const job = batch.jobs[i] as EnvelopeJob
    const payload = typeof job.payload === 'string' ? Buffer.from(job.payload, 'utf8') : job.payload
    topics[i] = job.topic
    flags[i] = (job.allowed ? 1 : 0) | (job.retained === true ? 2 : 0)
    payloads[i] = payload
    size += payload.byteLength
    ends[i] = size
  }
  const bytes = new Uint8Array(size)
  for (let i = 0; i < n; i++) bytes.set(payloads[i] as Uint8Array, i === 0 ? 0 : (ends[i - 1] as number))
  return { id: batch.id, nowMs: batch.nowMs, topics, flags, ends, bytes }
}

/**
 * Starts `threads` worker threads, each checking the batches it is given with
 * {@link checkEnvelope} (strict JSON, schema, chain, topic, allow list, time window, EIP-712 hash
 * and signature): the costly, stateless part of the input validator, on every core. The stateful
 * part (replay memory, rate budgets, durable marks) stays with the caller, which applies it to the
 * verdicts in the order the messages arrived. A thread that dies is replaced and its batches
 * checked again by the new one (checking has no effects); see
 * {@link VerifierPoolOptions.maxRestartsInARow} for when it gives up. Threads do not keep the
 * process alive; `close` ends them.
 *
 * @example
 * ```ts
 * const pool = createVerifierPool({ threads: availableParallelism(), settings: validator.settings() })
 * const verdicts = await pool.check([{ topic, payload, allowed: true }], Date.now())
 * await pool.close()
 * ```
 */
export function createVerifierPool(options: VerifierPoolOptions): VerifierPool {
  const threads = Math.max(0, Math.floor(options.threads))
  const log = options.log ?? (() => {})
  const maxRestarts = options.maxRestartsInARow ?? 3
  const settings = { ...options.settings }
  if (threads <= 1) {
    let closed = false
    let batches = 0
    return {
      threads: 0,
      check(jobs, nowMs) {
        if (closed) return Promise.reject(new ChanvmError('WORKER_FAILED', 'the verifier pool is closed'))
        batches++
        return Promise.resolve(jobs.map((job) => checkEnvelope(job, settings, nowMs)))
      },
      ready: () =>
        closed
          ? Promise.reject(new ChanvmError('WORKER_FAILED', 'the verifier pool is closed'))
          : Promise.resolve(),
      workers: () => [],
      stats: () => ({ batches, restarts: 0, inFlight: 0 }),
      close() {
        closed = true
        return Promise.resolve()
      },
    }
  }

  const slots: Slot[] = []
  let nextId = 1
  let batches = 0
  let restarts = 0
  let restartsInARow = 0
  let failure: Error | undefined
  let closed = false

  const send = (slot: Slot, batch: Batch) => {
    slot.pending.set(batch.id, batch)
    slot.load += batch.jobs.length
    const message = pack(batch)
    slot.worker.postMessage(message, [message.bytes.buffer, message.ends.buffer])
  }

  let signalFailed: (e: Error) => void = () => {}
  const failed = new Promise<never>((_, reject) => (signalFailed = reject))
  failed.catch(() => undefined)
  const failAll = (error: Error) => {
    signalFailed(error)
    for (const slot of slots) {
      for (const b of slot.pending.values()) b.reject(error)
      slot.pending.clear()
      slot.load = 0
    }
  }

  const spawn = (index: number): Slot => {
    const workerData: VerifierThreadData = { kind: 'chanvm-verifier', settings }
    const boot = workerSource()
    const worker = new Worker(boot.source, { eval: boot.eval, workerData })
    worker.unref()
    let loaded: () => void = () => {}
    const ready = new Promise<void>((resolve) => (loaded = resolve))
    const slot: Slot = { worker, pending: new Map(), load: 0, ready }
    worker.on('message', (answer: CheckBatchResult | { ready: true }) => {
      if ('ready' in answer) {
        loaded()
        return
      }
      const batch = slot.pending.get(answer.id)
      if (batch === undefined) return
      slot.pending.delete(answer.id)
      slot.load -= batch.jobs.length
      batches++
      restartsInARow = 0
      batch.resolve(unpackCheckedEnvelopes(answer.results))
    })
    worker.on('error', (e) => log(`verifier thread ${index} failed: ${e.message}`))
    worker.on('exit', (code) => {
      if (closed || slots[index] !== slot) return
      restarts++
      restartsInARow++
      const orphans = [...slot.pending.values()]
      if (restartsInARow > maxRestarts) {
        failure = new ChanvmError(
          'WORKER_FAILED',
          `verifier threads died ${restartsInARow} times in a row (last exit code ${code}); not restarting`,
        )
        log(failure.message)
        failAll(failure)
        closed = true
        void Promise.all(slots.map((s) => s.worker.terminate()))
        return
      }
      log(
        `verifier thread ${index} exited (code ${code}); starting another, ${orphans.length} batches sent again`,
      )
      const fresh = spawn(index)
      slots[index] = fresh
      for (const b of orphans) {
        b.attempts++
        if (b.attempts > 2)
          b.reject(
            new ChanvmError(
              'WORKER_FAILED',
              `a batch of ${b.jobs.length} messages killed two verifier threads`,
            ),
          )
        else send(fresh, b)
      }
    })
    return slot
  }
  for (let i = 0; i < threads; i++) slots.push(spawn(i))

  let closing: Promise<void> | undefined
  return {
    threads,
    check(jobs, nowMs) {
      if (failure !== undefined) return Promise.reject(failure)
      if (closed) return Promise.reject(new ChanvmError('WORKER_FAILED', 'the verifier pool is closed'))
      if (jobs.length === 0) return Promise.resolve([])
      let slot = slots[0] as Slot
      for (const s of slots) if (s.load < slot.load) slot = s
      return new Promise<CheckedEnvelope[]>((resolve, reject) =>
        send(slot, { id: nextId++, jobs, nowMs, attempts: 0, resolve, reject }),
      )
    },
    async ready() {
      for (;;) {
        const current = slots.map((s) => s.ready)
        await Promise.race([Promise.all(current), failed])
        if (failure !== undefined) throw failure
        if (closed) throw new ChanvmError('WORKER_FAILED', 'the verifier pool is closed')
        // A thread replaced meanwhile must load too.
        if (slots.every((s, i) => s.ready === current[i])) return
      }
    },
    workers: () => slots.map((s) => s.worker),
    stats: () => ({ batches, restarts, inFlight: slots.reduce((n, s) => n + s.load, 0) }),
    close() {
      closing ??= (async () => {
        closed = true
        failAll(new ChanvmError('WORKER_FAILED', 'the verifier pool is closed'))
        await Promise.all(slots.map((s) => s.worker.terminate()))
      })()
      return closing
    },
  }
}
