/**
 * Oracle ingestion benchmark: signed readings through the broker and every check of the MQTT input
 * source (rate limits, JSON Schema, chain, topic, allow list, time window, signature, replay),
 * `readingsPerSec`, against the same broker and the same payloads with a plain subscriber that
 * only counts, `brokerMsgsPerSec`, in the same run: the ratio of the two is what the checks cost.
 * Half the devices sign with P-256 (ES256), half with secp256k1. The broker is a Mosquitto started
 * here when one is installed (`CHANVM_MOSQUITTO_URL` names another), else the embedded aedes.
 *
 * Run alone: `npx tsx bench/oracles.ts` (prints JSON). `npm run bench` includes it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { toHex, type Hex } from 'viem'
import {
  getSignerId,
  hashReading,
  readingToEnvelope,
  signReading,
  textToBytes32,
  type OracleKey,
} from '../oracles/message/index.ts'
import { connectMqtt } from '../oracles/mqtt/connectMqtt.ts'
import { createMqttInputSource } from '../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../oracles/mqtt/readingTopic.ts'
import { envelopeToSigned } from '../oracles/message/envelopeToSigned.ts'
import type { Envelope } from '../oracles/message/envelopeSchema.ts'
import type { VerifyJob } from './verifyInWorker.ts'
import { startEmbeddedBroker } from '../oracles/mqtt/startEmbeddedBroker.ts'
import { createVerifierPool } from '../oracles/mqtt/createVerifierPool.ts'

const CHAIN = 31337n
const NOW_MS = 1_700_000_000_000

/** `devices` fixed keys, every other one P-256. */
function deviceKeys(devices: number): OracleKey[] {
  return Array.from({ length: devices }, (_, i) => ({
    curve: i % 2 === 0 ? 'p256' : 'secp256k1',
    privateKey: toHex(0x1000n + BigInt(i), { size: 32 }),
  }))
}

/** `count` signed readings, round robin over the devices, as (topic, payload). */
function signedPayloads(keys: readonly OracleKey[], count: number): { topic: string; payload: string }[] {
  const out: { topic: string; payload: string }[] = []
  const ids = keys.map(getSignerId)
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length] as OracleKey
    const device = ids[i % keys.length] as Hex
    const reading = {
      device,
      sequence: BigInt(Math.floor(i / keys.length) + 1),
      timestamp: BigInt(NOW_MS / 1000),
      kind: textToBytes32('temperature'),
      value: BigInt(4000 + (i % 100)),
      unit: textToBytes32('mC'),
    }
    out.push({
      topic: readingTopic(device),
      payload: JSON.stringify(readingToEnvelope(signReading({ chainId: CHAIN, reading, key }))),
    })
  }
  return out
}

/** A Mosquitto on a free loopback port with an unbounded queue per client and the site's in-flight window (100), or `undefined`. */
async function startMosquitto(): Promise<{ url: string; name: string; close(): Promise<void> } | undefined> {
  const ci = process.env.CHANVM_MOSQUITTO_URL
  if (ci !== undefined && ci !== '') return { url: ci, name: 'mosquitto', close: async () => {} }
  const bin = ['mosquitto', '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].find(
    (b) => spawnSync(b, ['-h'], { stdio: 'ignore' }).error === undefined,
  )
  if (bin === undefined) return undefined
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((r) => server.close(() => r()))
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-mosquitto-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 100\n`,
  )
  const child = spawn(bin, ['-c', conf], { stdio: 'ignore' })
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (up) break
    if (i > 200 || child.exitCode !== null) throw new Error('bench: mosquitto did not start')
    await new Promise((r) => setTimeout(r, 25))
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    name: 'mosquitto',
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Publishes the payloads at QoS 1 from a child process (devices are other machines: their MQTT
 * work must not run on the consumer's thread) and resolves once the broker acknowledged them all.
 */
async function publishAll(
  url: string,
  payloads: readonly { topic: string; payload: string }[],
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-pub-'))
  try {
    const file = join(dir, 'payloads.json')
    writeFileSync(file, JSON.stringify(payloads))
    const script = [
      "import { readFileSync } from 'node:fs'",
      "import mqtt from 'mqtt'",
      `const payloads = JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8'))`,
      `const pub = await mqtt.connectAsync(${JSON.stringify(url)}, { reconnectPeriod: 0 })`,
      'await Promise.all(payloads.map((p) => pub.publishAsync(p.topic, p.payload, { qos: 1 })))',
      'await pub.endAsync()',
    ].join('\n')
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    const code = await new Promise<number | null>((r) => child.once('exit', r))
    if (code !== 0) throw new Error(`bench: the publisher exited with ${code}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * CPU time of this process's main thread so far, in microseconds (Linux `/proc`, 10 ms ticks;
 * `undefined` elsewhere): the input source's own thread, without its verifier threads.
 */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

type Watched = { perSec: number; cpuUs: number; mainCpuUs: number | undefined }

/**
 * Counts messages and times them from the first to the last one: the rate at which they flow
 * through, without the publisher's start-up.
 */
function stopwatch(count: number): { tick(): void; done: Promise<Watched> } {
  let n = 0
  let first = 0
  let cpu = process.cpuUsage()
  let main: number | undefined
  let finish: (r: Watched) => void = () => {}
  const done = new Promise<Watched>((r) => (finish = r))
  return {
    tick() {
      if (n++ === 0) {
        first = performance.now()
        cpu = process.cpuUsage()
        main = mainThreadCpuUs()
      }
      if (n === count) {
        const used = process.cpuUsage(cpu)
        const mainNow = mainThreadCpuUs()
        finish({
          perSec: (count - 1) / ((performance.now() - first) / 1000),
          cpuUs: (used.user + used.system) / (count - 1),
          mainCpuUs: main === undefined || mainNow === undefined ? undefined : (mainNow - main) / (count - 1),
        })
      }
    },
    done,
  }
}

/**
 * The rate at which this machine's cores check `payloads` without MQTT: the input source's own
 * verifier pool (one thread per core, `createVerifierPool`), given every payload in batches of 32
 * at once after a warm-up pass (strict JSON, schema, chain, topic, allow list, time window,
 * EIP-712 hash and signature: the same work the threads do behind the broker). Readings per
 * second: all payloads over the time until the last verdict came back.
 */
async function poolBoundPerSec(payloads: readonly { topic: string; payload: string }[]): Promise<number> {
  const pool = createVerifierPool({
    threads: availableParallelism(),
    settings: { chainId: CHAIN, maxAgeSec: 300, maxFutureSec: 30 },
  })
  try {
    await pool.ready()
    const jobs = payloads.map(({ topic, payload }) => ({
      topic,
      payload: Buffer.from(payload),
      allowed: true,
    }))
    const batches: (typeof jobs)[] = []
    for (let i = 0; i < jobs.length; i += 32) batches.push(jobs.slice(i, i + 32))
    const pass = async () => {
      const results = (await Promise.all(batches.map((b) => pool.check(b, NOW_MS)))).flat()
      const ok = results.filter((r) => r.ok).length
      if (ok !== jobs.length) throw new Error(`bench: ${ok} of ${jobs.length} payloads passed the pool`)
    }
    await pass()
    const start = performance.now()
    await pass()
    return jobs.length / ((performance.now() - start) / 1000)
  } finally {
    await pool.close()
  }
}

/**
 * The rate at which this machine's cores verify the signatures of `payloads` (the same mix: P-256
 * through OpenSSL, secp256k1 through libsecp256k1), without MQTT, parsing or hashing: one worker
 * thread per core, each checking its share after a warm-up pass, started together. Readings per
 * second: all signatures over the slowest worker's time.
 */
async function cryptoBoundPerSec(payloads: readonly { payload: string }[]): Promise<number> {
  const jobs: VerifyJob[] = payloads.map(({ payload }) => {
    const content = envelopeToSigned(JSON.parse(payload) as Envelope)
    if (content?.type !== 'reading') throw new Error('bench: not a reading')
    return { digest: hashReading(CHAIN, content.signed.reading), signature: content.signed.signature }
  })
  const threads = availableParallelism()
  const workers = Array.from({ length: threads }, (_, i) => {
    const share = jobs.filter((_, j) => j % threads === i)
    // The worker registers tsx, as the bench runs under it, then loads the TypeScript worker.
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./verifyInWorker.ts', import.meta.url).href)}) })`
    return new Worker(boot, { eval: true, workerData: share })
  })
  try {
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ verified: number; ms: number }>((resolve, reject) => {
            w.once('message', resolve)
            w.once('error', reject)
            w.postMessage('go')
          }),
      ),
    )
    const verified = results.reduce((a, r) => a + r.verified, 0)
    if (verified !== jobs.length) throw new Error(`bench: ${verified} of ${jobs.length} signatures verified`)
    return jobs.length / (Math.max(...results.map((r) => r.ms)) / 1000)
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

/**
 * Measures readings per second through the broker and every check of the MQTT input source, and
 * raw broker messages per second for the same payloads (a subscriber that only counts and
 * acknowledges), on the same broker in the same run.
 *
 * @example
 * ```ts
 * const { readingsPerSec, brokerMsgsPerSec, ratio } = await benchOracles()
 * console.log(`the checks keep ${ratio * 100}% of the broker's throughput`)
 * ```
 */
export async function benchOracles(
  options: { count?: number; devices?: number; warmUp?: number } = {},
): Promise<{
  readingsPerSec: number
  brokerMsgsPerSec: number
  ratio: number
  /**
   * The same payloads checked per second by the input source's verifier pool on all cores, no
   * MQTT (`poolBoundPerSec`): parsing, schema, hashing and the signature, as behind the broker.
   */
  readingsCryptoBoundPerSec: number
  /** `readingsPerSec / readingsCryptoBoundPerSec`. */
  cryptoRatio: number
  /**
   * Readings per second checked from a backlog the devices published into the input source's
   * persistent session beforehand (the publisher does not run while the clock does; it is on the
   * devices' machines at a site), after a warm-up as above.
   */
  readingsFromBacklogPerSec: number
  /** `readingsFromBacklogPerSec / readingsCryptoBoundPerSec`. */
  backlogCryptoRatio: number
  /** Signatures alone (no parsing or hashing) verified per second on all cores (`cryptoBoundPerSec`). */
  signaturesPerSec: number
  /** `readingsPerSec / signaturesPerSec`. */
  signatureRatio: number
  /**
   * The input source's verifier threads: `CHANVM_BENCH_VERIFY_THREADS` when set (1: every check on
   * the input source's thread), else one per core.
   */
  verifyThreads: number
  /** The cores the crypto-bound rate used. */
  cores: number
  /** CPU time of this process per reading (every check), in microseconds: 1e6 / it is one core's capacity. */
  readingCpuUs: number
  /**
   * CPU time of the input source's own thread per reading (MQTT, hand-over, replay window,
   * handlers, acknowledgements; with threads, not the checks), in microseconds; Linux only.
   */
  readingMainThreadCpuUs?: number
  /** CPU time of this process per message of the plain subscriber, in microseconds. */
  brokerMsgCpuUs: number
  oracleBroker: string
  oracleReadings: number
  /**
   * Readings the input source checked before the clock started (the verifier threads' code
   * compiled and their key caches filled, as in a node that has been running), as the pool's
   * warm-up pass does for `readingsCryptoBoundPerSec`.
   */
  oracleWarmUpReadings: number
  oracleDevices: number
}> {
  const count = options.count ?? 10_000
  const warmUp = options.warmUp ?? 5_000
  const fromEnv = Number(process.env.CHANVM_BENCH_VERIFY_THREADS)
  const verifyThreads = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism()
  const keys = deviceKeys(options.devices ?? 200)
  // The warm-up readings come first: the measured ones continue their devices' sequences.
  const signed = signedPayloads(keys, warmUp + count)
  const warmUpPayloads = signed.slice(0, warmUp)
  const payloads = signed.slice(warmUp)
  const mosquitto = await startMosquitto()
  const broker = mosquitto ?? { ...(await startEmbeddedBroker()), name: 'aedes (embedded)' }
  try {
    // 1. The broker alone: a subscriber that only counts (and acknowledges at QoS 1).
    const rawWatch = stopwatch(count)
    const raw = await connectMqtt({
      url: broker.url,
      subscriptions: ['chanvm/v1/devices/+/readings'],
      onMessage: () => rawWatch.tick(),
    })
    await publishAll(broker.url, payloads)
    const rawRun = await rawWatch.done
    const brokerMsgsPerSec = rawRun.perSec
    await raw.close()

    // 2. The same payloads through the input source with every check on.
    const source = await createMqttInputSource({
      clean: true,
      url: broker.url,
      chainId: CHAIN,
      devices: keys.map(getSignerId),
      now: () => NOW_MS,
      log: false,
      verifyThreads,
      // Each device may burst a whole run (about 100 readings) at once; the total stays bounded.
      rateLimit: { perSignerPerSec: 100, perSignerBurst: 2_000, totalPerSec: 20_000, totalBurst: 40_000 },
    })
    // The threads load and check a first run of readings before the clock starts, as they would
    // have long before in a running node (the pool-bound rate below is timed after a warm-up too).
    await source.verifierReady()
    const warmUpWatch = stopwatch(warmUp)
    const checkedWatch = stopwatch(count)
    let watch = warmUp > 0 ? warmUpWatch : checkedWatch
    source.onInput(() => watch.tick())
    source.onRejection(() => watch.tick())
    if (warmUp > 0) {
      await publishAll(broker.url, warmUpPayloads)
      await warmUpWatch.done
      watch = checkedWatch
    }
    await publishAll(broker.url, payloads)
    const checkedRun = await checkedWatch.done
    const readingsPerSec = checkedRun.perSec
    const stats = source.stats()
    await source.close()

    // 2b. The same checks on a backlog: the devices publish every reading into the input source's
    // persistent session while it is away, then it comes back and drains them. The publisher (the
    // devices, other machines at a site) and the broker's intake no longer share the cores while
    // the clock runs; the first `warmUp` readings warm the new threads, the next `count` are timed.
    const backlogOptions = {
      url: broker.url,
      clientId: `chanvm-bench-backlog-${process.pid}`,
      chainId: CHAIN,
      devices: keys.map(getSignerId),
      now: () => NOW_MS,
      log: false as const,
      verifyThreads,
      rateLimit: { perSignerPerSec: 100, perSignerBurst: 2_000, totalPerSec: 20_000, totalBurst: 40_000 },
    }
    await (await createMqttInputSource(backlogOptions)).close()
    await publishAll(broker.url, [...warmUpPayloads, ...payloads])
    const backlogWarmUp = stopwatch(warmUp)
    const backlogWatch = stopwatch(count)
    let drained = 0
    const drainTick = () => (drained++ < warmUp ? backlogWarmUp.tick() : backlogWatch.tick())
    const drainer = await createMqttInputSource(backlogOptions)
    drainer.onInput(drainTick)
    drainer.onRejection(drainTick)
    const backlogRun = await backlogWatch.done
    const backlogStats = drainer.stats()
    await drainer.close()
    if (backlogStats.accepted !== warmUp + count)
      throw new Error(
        `bench: only ${backlogStats.accepted} of ${warmUp + count} backlog readings accepted: ${JSON.stringify(backlogStats)}`,
      )
    // 3. The same payloads through the same pool on all cores, no MQTT; and the signatures alone.
    const readingsCryptoBoundPerSec = await poolBoundPerSec(payloads)
    const signaturesPerSec = await cryptoBoundPerSec(payloads)
    if (stats.accepted !== warmUp + count)
      throw new Error(
        `bench: only ${stats.accepted} of ${warmUp + count} readings accepted: ${JSON.stringify(stats)}`,
      )
    return {
      readingsPerSec: Math.round(readingsPerSec),
      brokerMsgsPerSec: Math.round(brokerMsgsPerSec),
      ratio: Math.round((readingsPerSec / brokerMsgsPerSec) * 100) / 100,
      readingsCryptoBoundPerSec: Math.round(readingsCryptoBoundPerSec),
      cryptoRatio: Math.round((readingsPerSec / readingsCryptoBoundPerSec) * 100) / 100,
      readingsFromBacklogPerSec: Math.round(backlogRun.perSec),
      backlogCryptoRatio: Math.round((backlogRun.perSec / readingsCryptoBoundPerSec) * 100) / 100,
      signaturesPerSec: Math.round(signaturesPerSec),
      signatureRatio: Math.round((readingsPerSec / signaturesPerSec) * 100) / 100,
      verifyThreads,
      cores: availableParallelism(),
      readingCpuUs: Math.round(checkedRun.cpuUs * 10) / 10,
      ...(checkedRun.mainCpuUs === undefined
        ? {}
        : { readingMainThreadCpuUs: Math.round(checkedRun.mainCpuUs * 10) / 10 }),
      brokerMsgCpuUs: Math.round(rawRun.cpuUs * 10) / 10,
      oracleBroker: broker.name,
      oracleReadings: count,
      oracleWarmUpReadings: warmUp,
      oracleDevices: keys.length,
    }
  } finally {
    await broker.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchOracles()) + '\n')
}
