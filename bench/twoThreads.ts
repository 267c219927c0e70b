import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Hex } from 'viem'
import { createKeySigner } from '../engine/crypto/createKeySigner.ts'
import { createParty } from '../engine/protocol/createParty.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { threadSource } from '../engine/threadEntry.ts'
import { fixedEnv, testAddresses, testKeys } from '../test/support/channel.ts'
import { loopChannel } from './loopChannel.ts'
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
  const shared = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT)
  const payeeCounts = new Float64Array(shared)
  const boot = threadSource(undefined, import.meta.url, 'payeeThread')
  const workerData: PayeeThreadData = { dir: opts.dir, nonces: nonces.map(String), counts: shared }
  const worker = new Worker(boot.source, { eval: boot.eval, workerData })
  let failure: Error | undefined
  const frames: { kind: string; message?: string }[] = []
  const waiters = new Set<() => void>()
  worker.on('message', (f: { kind: string; message?: string }) => {
    if (f.kind === 'error') failure ??= new Error(`payee thread: ${f.message}`)
    frames.push(f)
    for (const w of waiters) w()
  })
  worker.on('error', (e) => {
    failure ??= e
    for (const w of waiters) w()
  })
  const frame = async (kind: string): Promise<void> => {
    while (!frames.some((f) => f.kind === kind)) {
      if (failure !== undefined) throw failure
      await new Promise<void>((resolve) => waiters.add(resolve)).finally(() => waiters.clear())
    }
  }
  let syncs = 0
  let writes = 0
  const store = createSqliteStore({
    path: join(opts.dir, 'p0.db'),
    exclusive: true,
    onCommit: (n) => {
      syncs++
      writes += n
    },
  })
  const payer = await createParty({
    signer: createKeySigner(testKeys[0]!),
    transport: createPortTransport(testAddresses[0]!, worker, (e) => (failure ??= e as Error)),
    store,
    sandbox: await createSandbox(),
    apps: [chs[0]!.code],
    clock: () => fixedEnv,
    requireFunding: false,
  })
  try {
    await frame('ready')
    worker.postMessage({ kind: 'open' })
    await Promise.all(chs.map(({ ch }) => payer.open(ch.params, ch.initial)))
    await frame('opened')
    const drive = (count: number) =>
      Promise.all(
        chs.map(async ({ ch, actions }) => {
          for (let i = 0; i < count; i++) {
            const r = await payer.update(ch.channelId, actions[i % actions.length] as Hex)
            if (!r.ok) throw new Error(`bench step ${i} failed: ${r.reason}`)
            if (failure !== undefined) throw failure
          }
        }),
      )
    await drive(Math.max(2, Math.round((opts.warmup ?? 100) / 2) * 2))
    const each = Math.max(2, Math.round(opts.steps / opts.channels / 2) * 2)
    syncs = 0
    writes = 0
    const [payeeSyncs0, payeeWrites0] = [payeeCounts[0]!, payeeCounts[1]!]
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
    const allSyncs = syncs + payeeCounts[0]! - payeeSyncs0
    const allWrites = writes + payeeCounts[1]! - payeeWrites0
    opts.log?.(
      `  protocol: ${Math.round(stepsPerSec)} co-signed steps/s over ${opts.channels} channels, parties on two threads`,
    )
    return { stepsPerSec, writesPerSync: allSyncs === 0 ? 0 : allWrites / allSyncs, cpuMsPerStep, busy }
  } finally {
    await payer.close()
    await store.close()
    worker.postMessage({ kind: 'close' })
    await frame('closed').catch(() => undefined)
    await worker.terminate()
  }
}
