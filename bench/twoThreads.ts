import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Party } from '../engine/protocol/types.ts'
import type { ChannelStore } from '../engine/store/types.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { threadSource } from '../engine/threadEntry.ts'
import { testAddresses } from '../test/support/channel.ts'
import { driveLoops, loopChannel, loopParty } from './loopChannel.ts'
import type { PayeeThreadData } from './payeeThread.ts'
import { createPortTransport } from './portTransport.ts'

/** Milliseconds of CPU in a `process.cpuUsage` difference (every thread of the process). */
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000

/**
 * `channels` channels of the loop app driven at once, as in `runLoopChannels`, but with the two
 * parties on two threads of this process, as two programs would run them: the payer on this
 * thread, the payee on a worker thread (bench/payeeThread.ts), each with its own SQLite file
 * (synchronous=FULL, held exclusively), sandbox and key, messages crossing between them as JSON.
 * No crypto thread: each party signs and recovers on its own thread. `steps` co-signed steps in
 * all after a warm-up of `warmup` steps a channel (the worker's code starts cold).
 */
export async function runLoopChannelsTwoThreads(opts: {
  dir: string
  channels: number
  steps: number
  warmup?: number
  log?: (s: string) => void
}): Promise<{
  stepsPerSec: number
  writesPerSync: number
  cpuMsPerStep: number
  /** The share of the measure each party's event loop was busy (0 to 1). */
  busy: { payer: number; payee: number }
}> {
  const nonces = Array.from({ length: opts.channels }, (_, i) => 2_000n + BigInt(i))
  const chs = await Promise.all(nonces.map((n) => loopChannel(n)))
  const shared = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)
  const payeeCounts = new Int32Array(shared)
  const boot = threadSource(undefined, import.meta.url, 'payeeThread')
  const workerData: PayeeThreadData = { dir: opts.dir, nonces: nonces.map(String), counts: shared }
  const worker = new Worker(boot.source, { eval: boot.eval, workerData })
  // The control frames the payee's thread posted (peer messages go to the transport), and the
  // first failure: an error frame, the thread's error or its exit.
  let failure: Error | undefined
  const frames = new Set<string>()
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of waiters) w()
    waiters.clear()
  }
  const fail = (e: Error) => {
    failure ??= e
    wake()
  }
  worker.on('message', (f: { kind: string; message?: string }) => {
    if (f.kind === 'peer') return
    if (f.kind === 'error') failure ??= new Error(`payee thread: ${f.message}`)
    frames.add(f.kind)
    wake()
  })
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`payee thread exited (${code})`)))
  const frame = async (kind: string): Promise<void> => {
    while (!frames.has(kind)) {
      if (failure !== undefined) throw failure
      await new Promise<void>((resolve) => waiters.add(resolve))
    }
  }
  const check = () => {
    if (failure !== undefined) throw failure
  }
  let syncs = 0
  let writes = 0
  let store: ChannelStore | undefined
  let payer: Party | undefined
  try {
    store = createSqliteStore({
      path: join(opts.dir, 'p0.db'),
      exclusive: true,
      onCommit: (n) => {
        syncs++
        writes += n
      },
    })
    payer = await loopParty(0, {
      transport: createPortTransport(testAddresses[0]!, worker, (e) =>
        fail(e instanceof Error ? e : new Error(String(e))),
      ),
      store,
      code: chs[0]!.code,
    })
    const party = payer
    await frame('ready')
    worker.postMessage({ kind: 'open' })
    await Promise.all(chs.map(({ ch }) => party.open(ch.params, ch.initial)))
    await frame('opened')
    // After each step, the payee's own error first, before the timeout it causes here.
    const drive = (count: number) => driveLoops(party, chs, count, check)
    await drive(Math.max(2, Math.round((opts.warmup ?? 100) / 2) * 2))
    const each = Math.max(2, Math.round(opts.steps / opts.channels / 2) * 2)
    syncs = 0
    writes = 0
    const payeeSyncs0 = Atomics.load(payeeCounts, 0)
    const payeeWrites0 = Atomics.load(payeeCounts, 1)
    const elu0 = {
      payer: performance.eventLoopUtilization(),
      payee: worker.performance.eventLoopUtilization(),
    }
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await drive(each)
    const busy = {
      payer: performance.eventLoopUtilization(elu0.payer).utilization,
      payee: worker.performance.eventLoopUtilization(elu0.payee).utilization,
    }
    const stepsPerSec = (each * opts.channels) / ((performance.now() - t0) / 1000)
    const cpuMsPerStep = cpuMs(process.cpuUsage(cpu0)) / (each * opts.channels)
    check()
    const allSyncs = syncs + Atomics.load(payeeCounts, 0) - payeeSyncs0
    const allWrites = writes + Atomics.load(payeeCounts, 1) - payeeWrites0
    opts.log?.(
      `  protocol: ${Math.round(stepsPerSec)} co-signed steps/s over ${opts.channels} channels, parties on two threads`,
    )
    return { stepsPerSec, writesPerSync: allSyncs === 0 ? 0 : allWrites / allSyncs, cpuMsPerStep, busy }
  } finally {
    await payer?.close()
    await store?.close()
    // The payee closes its party and store, then says so; a thread that failed is ended as it is.
    if (failure === undefined) {
      worker.postMessage({ kind: 'close' })
      await frame('closed').catch(() => undefined)
    }
    await worker.terminate()
  }
}
