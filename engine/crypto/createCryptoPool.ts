import { Worker } from 'node:worker_threads'
import { threadSource } from '../threadEntry.ts'
import type { Hex } from 'viem'
import {
  runCryptoJob,
  type CryptoAnswer,
  type CryptoBatch,
  type CryptoBatchResult,
  type CryptoClose,
  type CryptoJob,
  type CryptoThreadReady,
} from './cryptoJobs.ts'
import type { SignatureVerdict } from './recoverDigestSigner.ts'

/**
 * When a job goes to a thread. `busy` (the default): only while other work is in flight (see
 * {@link CryptoPool.busy}), a job is already queued or a thread is working; alone, a job runs on
 * the calling thread. `always`: every job once a thread has loaded. `never`: no job (as no thread).
 */
export type CryptoOffload = 'busy' | 'always' | 'never'

/** Options of {@link createCryptoPool}. */
export type CryptoPoolOptions = {
  /** Worker threads. 0: none, every job runs on the calling thread. Default 1. */
  threads?: number
  /** When a job goes to a thread. Default `busy`. */
  offload?: CryptoOffload
  /** Where a thread's failure is reported (its jobs ran on the calling thread instead). */
  onFailure?: (message: string) => void
}

/**
 * Worker threads that sign digests and recover signers with the calling thread's functions
 * ({@link signDigest}, {@link recoverDigestSigner}): the same answers, computed while the calling
 * thread does other work.
 */
export type CryptoPool = {
  /** Threads started (some may have failed since: see `stats`). */
  readonly threads: number
  /** {@link signDigest}`(digest, key)`; rejects with an `Error` of its message where it throws. */
  sign(digest: Hex | Uint8Array, key: Hex | Uint8Array): Promise<Hex>
  /** {@link recoverDigestSigner}`(digest, sig)`. */
  recover(digest: Hex | Uint8Array, sig: Hex | Uint8Array): Promise<SignatureVerdict>
  /**
   * Marks a piece of work in flight on the calling thread for `of` (a channel: a message being
   * handled, an update); returns the function that ends it. With `offload: 'busy'`, jobs go to a
   * thread while work of more than one channel is in flight.
   */
  busy(of: string): () => void
  /** Starts the threads if they have not started; resolves once each has loaded or failed. */
  ready(): Promise<void>
  /** The threads now running. */
  workers(): readonly Worker[]
  /** Jobs run here and on threads, batches posted, threads failed, jobs on threads now. */
  stats(): { inline: number; offloaded: number; batches: number; failures: number; inFlight: number }
  /** Ends every thread; jobs in flight run on the calling thread. Later jobs run there too. Idempotent. */
  close(): Promise<void>
}

type Job = { job: CryptoJob; settle: (a: CryptoAnswer) => void }
type Slot = {
  worker: Worker
  pending: Map<number, Job[]>
  load: number
  ready: boolean
  loaded: Promise<void>
}

/**
 * The thread's entry the `chanvm` bundle emits beside itself (cli/build.ts defines it as the URL
 * of `dist/chanvm/cryptoWorker.mjs`); not defined when running from the sources.
 */
declare const CHANVM_BUNDLED_CRYPTO_ENTRY: string | undefined

/** How a thread starts (engine/threadEntry.ts): the bundle's built entry, else the sources. */
const workerSource = () =>
  threadSource(
    typeof CHANVM_BUNDLED_CRYPTO_ENTRY === 'string' ? CHANVM_BUNDLED_CRYPTO_ENTRY : undefined,
    import.meta.url,
    'cryptoWorker',
  )

/** How long `close` waits for a thread to end once asked. */
const CLOSE_MS = 5_000

/** A job's inputs as a thread gets them: a byte view copied (cloned, a view would carry its whole buffer). */
const own = <T extends Hex | Uint8Array>(x: T): T => (x instanceof Uint8Array ? (x.slice() as T) : x)

const answerOf = <T>(a: CryptoAnswer): T => {
  if ('e' in a) throw new Error(a.e)
  return a.v as T
}

/**
 * A pool of crypto threads, started at the first job it hands over (or `ready`). Jobs queued in
 * one turn of the event loop go to a thread as one message (`setImmediate`), spread over the
 * threads that have loaded; until a thread has loaded, and whenever none is running, jobs run on
 * the calling thread.
 *
 * Policy (`offload: 'busy'`): a job goes to a thread only while work of more than one channel is
 * in flight (or jobs are already queued or on a thread); alone, it runs on the calling thread.
 * Measured (native backend, 2 cores, main-thread CPU time): inline, a signature costs the
 * calling thread 45-50 µs and a recovery 65-70 µs; handed to a thread, 17 µs each in a batch of
 * one, 12-15 µs in a batch of six, 5-7 µs in a batch of twenty. But a lone job waits for the
 * round trip: 120-150 µs against 70-80 µs inline, so one step alone would be slower and would
 * save CPU only on a thread that has nothing else to do. With several channels in flight the
 * calling thread has their work to do meanwhile, and batches share one hop.
 *
 * A thread that exits or errors is reported (`onFailure`) and not replaced: its jobs in flight run
 * on the calling thread, and so do later ones when no thread is left. Signing and recovering have
 * no effects, so a job run twice gives the same answer.
 *
 * @example
 * ```ts
 * const pool = createCryptoPool({ threads: 1 })
 * const sig = await pool.sign(digest, key)
 * const verdict = await pool.recover(digest, sig)
 * await pool.close()
 * ```
 */
export function createCryptoPool(options: CryptoPoolOptions = {}): CryptoPool {
  const threads = Math.max(0, Math.floor(options.threads ?? 1))
  const mode = options.offload ?? 'busy'
  const onFailure = options.onFailure ?? (() => undefined)
  const slots: Slot[] = []
  let queue: Job[] = []
  let flushing = false
  /** Pieces of work in flight by what they belong to (a channel). */
  const busy = new Map<string, number>()
  let inFlight = 0
  let nextId = 1
  let closed = false
  const counts = { inline: 0, offloaded: 0, batches: 0, failures: 0 }

  const runHere = (j: Job) => {
    counts.inline++
    j.settle(runCryptoJob(j.job))
  }

  /** Runs on the calling thread what a thread that stopped still held. */
  const orphan = (slot: Slot) => {
    const jobs = [...slot.pending.values()].flat()
    slot.pending.clear()
    inFlight -= slot.load
    slot.load = 0
    for (const j of jobs) runHere(j)
  }

  const spawn = (index: number): Slot => {
    const boot = workerSource()
    const worker = new Worker(boot.source, { eval: boot.eval })
    worker.unref()
    let loaded: () => void = () => undefined
    const slot: Slot = {
      worker,
      pending: new Map(),
      load: 0,
      ready: false,
      loaded: new Promise<void>((resolve) => (loaded = resolve)),
    }
    const fail = (why: string) => {
      const at = slots.indexOf(slot)
      if (at < 0) return
      slots.splice(at, 1)
      loaded()
      if (closed) return orphan(slot)
      counts.failures++
      onFailure(`crypto thread ${index} ${why}; ${slot.load} jobs in flight run on the calling thread`)
      orphan(slot)
      // One that failed has ended or ends; one that could not read a message is asked to.
      worker.postMessage({ close: true } satisfies CryptoClose)
    }
    worker.on('message', (m: CryptoBatchResult | CryptoThreadReady) => {
      if ('ready' in m) {
        slot.ready = true
        loaded()
        return
      }
      const jobs = slot.pending.get(m.id)
      if (jobs === undefined) return
      slot.pending.delete(m.id)
      slot.load -= jobs.length
      inFlight -= jobs.length
      if (slot.load === 0) worker.unref()
      for (const [i, j] of jobs.entries()) {
        const a = m.answers[i]
        if (a === undefined) runHere(j)
        else j.settle(a)
      }
    })
    worker.on('error', (e) => fail(`failed: ${e.message}`))
    worker.on('messageerror', (e) => fail(`could not read a message: ${e.message}`))
    worker.on('exit', (code) => fail(`exited (code ${code})`))
    return slot
  }
  /**
   * Starts the threads, once: at the first job the policy would hand over, or at `ready`. A party
   * whose channels work one at a time never starts one (a thread costs memory and its start CPU).
   */
  let started = false
  const start = () => {
    if (started || closed) return
    started = true
    for (let i = 0; i < threads; i++) slots.push(spawn(i))
  }

  const flush = () => {
    flushing = false
    const jobs = queue
    queue = []
    const live = slots.filter((s) => s.ready)
    if (closed || live.length === 0) {
      for (const j of jobs) runHere(j)
      return
    }
    // Spread over the threads, each one message.
    const per = Math.ceil(jobs.length / live.length)
    live.sort((a, b) => a.load - b.load)
    for (let i = 0; i < live.length && i * per < jobs.length; i++) {
      const slot = live[i] as Slot
      const part = jobs.slice(i * per, (i + 1) * per)
      const id = nextId++
      slot.pending.set(id, part)
      if (slot.load === 0) slot.worker.ref()
      slot.load += part.length
      inFlight += part.length
      counts.batches++
      counts.offloaded += part.length
      slot.worker.postMessage({ id, jobs: part.map((j) => j.job) } satisfies CryptoBatch)
    }
  }

  const offload = (): boolean => {
    if (closed || mode === 'never') return false
    const wanted = mode === 'always' || busy.size > 1 || queue.length > 0 || inFlight > 0
    if (wanted && !started) start()
    return wanted && slots.some((s) => s.ready)
  }

  const submit = <T>(job: CryptoJob): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const j: Job = {
        job,
        settle: (a) => {
          try {
            resolve(answerOf<T>(a))
          } catch (e) {
            reject(e as Error)
          }
        },
      }
      if (!offload()) return runHere(j)
      queue.push(j)
      if (!flushing) {
        flushing = true
        setImmediate(flush)
      }
    })

  let closing: Promise<void> | undefined
  return {
    threads,
    sign: (digest, key) => submit<Hex>({ k: 's', digest: own(digest), key: own(key) }),
    recover: (digest, sig) => submit<SignatureVerdict>({ k: 'r', digest: own(digest), sig: own(sig) }),
    busy(of) {
      busy.set(of, (busy.get(of) ?? 0) + 1)
      let done = false
      return () => {
        if (done) return
        done = true
        const n = (busy.get(of) ?? 1) - 1
        if (n === 0) busy.delete(of)
        else busy.set(of, n)
      }
    },
    ready: () => {
      start()
      return Promise.all(slots.map((s) => s.loaded)).then(() => undefined)
    },
    workers: () => slots.map((s) => s.worker),
    stats: () => ({ ...counts, inFlight }),
    close() {
      closing ??= (async () => {
        closed = true
        const all = [...slots]
        for (const s of all) orphan(s)
        // What is queued for the next turn runs there, on this thread (`flush` sees `closed`). A
        // thread is asked to end, not ended: `terminate` while it is in the native addon aborts
        // the process. One that does not end within CLOSE_MS (a batch that never returns) is ended.
        await Promise.all(
          all.map(async (s) => {
            const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()))
            s.worker.ref()
            s.worker.postMessage({ close: true } satisfies CryptoClose)
            let timer: NodeJS.Timeout | undefined
            const late = new Promise<boolean>(
              (resolve) => (timer = setTimeout(() => resolve(true), CLOSE_MS)),
            )
            if (await Promise.race([exited.then(() => false), late])) await s.worker.terminate()
            clearTimeout(timer)
          }),
        )
        slots.length = 0
      })()
      return closing
    },
  }
}
