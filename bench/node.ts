// The node through its HTTP API: co-signed steps per second between two nodes (each the node
// daemon `chanvm node` runs, in a process of its own, talking over MQTT, on anvil), one channel after
// another and several channels at once, and the resident memory of a node holding many channels.
import { readFileSync } from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { createApiClient, type ApiClient } from '../cli/apiClient.ts'
import { startDemoNode, type DemoNodeHandle } from '../cli/demo/startDemoNode.ts'
import { deployLoopApp } from './deployLoopApp.ts'
import { createAdjudicatorClient } from '../engine/adjudicator/createAdjudicatorClient.ts'
import { deposit } from '../engine/adjudicator/deposit.ts'
import { startAnvil } from '../engine/chain/startAnvil.ts'
import { requestToChannel } from '../node/requestToChannel.ts'
import type { AppAction, OpenRequest } from '../node/types.ts'
import { startEmbeddedBroker } from '../oracles/mqtt/startEmbeddedBroker.ts'
import { startMosquitto } from '../test/oracles/brokers.ts'

export type NodeBench = {
  /** The broker between the nodes: the embedded aedes (in this process) or a Mosquitto process. */
  broker: 'aedes' | 'mosquitto'
  /** Co-signed steps of the loop app (its loop's actions in turn: the escrow's fund, release) per second on one channel, each a POST /v1/channels/:id/actions. */
  stepsPerSec: number
  /** The same with `parallelChannels` channels driven at once (all steps of all channels per second). */
  parallelStepsPerSec: number
  /** The first of the widths measured (`--node-parallel`, default 8 and 32). */
  parallelChannels: number
  /**
   * Every width measured: channels driven at once, co-signed steps per second over all of them,
   * and CPU ms per step of each process (as `cpuMsPerStep`), each after its own warm-up.
   */
  widths: { channels: number; stepsPerSec: number; cpuMsPerStep: CpuMark }[]
  /**
   * Milliseconds from request to co-signed answer, median, 95th and 99th percentile, one channel at
   * a time, over `steps` steps (default 1,000: of 200, the 99th percentile is the third slowest).
   */
  stepMs: { p50: number; p95: number; p99: number }
  steps: number
  /** Steps run before each measure: on the one channel, then in all over the channels at once. */
  warmupSteps: { one: number; parallel: number }
  /**
   * Milliseconds of a POST the API refuses at once (a malformed action, 400), median: the HTTP
   * part of a step's time.
   */
  refusedPostMs: number
  /** Resident memory (MiB) of the payer's node process, before any channel and with `channels` open. */
  rssMiB: { idle: number; withChannels: number; channels: number }
  /** The same for the payee's node. */
  peerRssMiB: { idle: number; withChannels: number }
  /**
   * CPU time (user + system, ms) per co-signed step of each node process (payer / payee), of
   * this process (the HTTP client, and the broker when it is aedes) and of a Mosquitto process
   * (`broker`, 0 for aedes), one channel at a time and over `parallelChannels` channels at once:
   * the work a step costs, whatever else the machine runs.
   */
  cpuMsPerStep: {
    one: CpuMark
    parallel: CpuMark
  }
  /** Channels opened per second through both APIs (deposits made beforehand), `openConcurrency` at once. */
  opensPerSec: number
  openConcurrency: number
}

/** The broker between the nodes: aedes in this process, a Mosquitto process, or Mosquitto when installed. */
export type NodeBenchBroker = 'aedes' | 'mosquitto' | 'auto'

/**
 * A broker for the nodes, with its URL, how to stop it and, for a process of its own, its pid.
 * `auto` is a Mosquitto when one is installed (what a site runs), else the embedded aedes.
 */
async function startBroker(
  kind: NodeBenchBroker,
): Promise<{ kind: 'aedes' | 'mosquitto'; url: string; pid?: number; stop(): Promise<void> }> {
  if (kind !== 'aedes') {
    const m = await startMosquitto()
    if (!('skip' in m))
      return {
        kind: 'mosquitto',
        url: m.url,
        ...(m.pid === undefined ? {} : { pid: m.pid }),
        stop: () => m.stop(),
      }
    if (kind === 'mosquitto') throw new Error(`no Mosquitto: ${m.skip}`)
  }
  const b = await startEmbeddedBroker()
  return { kind: 'aedes', url: b.url, stop: () => b.close() }
}

/** Resident set size of process `pid` in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 'NaN')
  return Math.round((kb / 1024) * 10) / 10
}

/** The unit of /proc CPU times (USER_HZ), 100 on Linux. */
const CLOCK_TICKS_PER_SEC = 100

/** CPU time (user + system, every thread) of process `pid` so far, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (in parentheses, which may hold spaces): utime is the 14th field.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC
}

/** CPU ms of the payer, the payee, this process and a broker process since `from` (a `cpuNow()`), per step. */
type CpuMark = { payer: number; payee: number; bench: number; broker: number }
const perStep = (from: CpuMark, to: CpuMark, steps: number): CpuMark => {
  const r = (k: keyof CpuMark) => Math.round(((to[k] - from[k]) / steps) * 10) / 10
  return { payer: r('payer'), payee: r('payee'), bench: r('bench'), broker: r('broker') }
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN

/**
 * Resolves once every node (`apis`) shows a chain view of block `head` or later on channel
 * `channelId`; throws after 15 s, naming the node that lags. The view is read from the API's
 * JSON: the API client's channel summary leaves it out (it is the node's, not the channel's).
 */
async function headsCaughtUp(apis: readonly ApiClient[], channelId: Hex, head: bigint): Promise<void> {
  const deadline = performance.now() + 15_000
  for (const { url } of apis) {
    for (;;) {
      const res = await fetch(`${url}/v1/channels/${channelId}`)
      if (!res.ok) throw new Error(`GET ${url}/v1/channels/${channelId}: HTTP ${res.status}`)
      const seen = ((await res.json()) as { chainView?: { blockNumber?: string } }).chainView?.blockNumber
      if (seen !== undefined && BigInt(seen) >= head) break
      if (performance.now() > deadline)
        throw new Error(`the node at ${url} still sees block ${seen} after 15 s, the chain is at ${head}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** Runs `n` tasks, at most `width` at once. */
async function pool(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await task(next++)
    }),
  )
}

/**
 * Two nodes (payer and payee) on a fresh anvil and an embedded MQTT broker, each in its own
 * process behind its HTTP API, driven with `cli/apiClient.ts`. Measures: `steps` co-signed steps
 * on one channel, one request after the other; the same number spread over `parallel` channels
 * at once; then opens channels up to `channels` in all (each with a deposit, made beforehand by a
 * funder so the opens measure the nodes) and reads both node processes' RSS.
 *
 * @example
 * ```ts
 * const r = await benchNode({ steps: 200, parallel: 8, channels: 1000 })
 * console.log(r.stepsPerSec, r.rssMiB.withChannels)
 * ```
 */
export async function benchNode(
  opts: {
    steps?: number
    /**
     * Steps before each measure (default 2,000): a node's JIT compiler still optimizes the step's
     * functions for its first 10 to 15 seconds under load, on the cores the measure shares.
     */
    warmup?: number
    /** Channels driven at once: one width, or several measured in turn (default 8, then 32). */
    parallel?: number | readonly number[]
    channels?: number
    /** The broker between the nodes (default `auto`: a Mosquitto process when installed, else aedes here). */
    broker?: NodeBenchBroker
    log?: (s: string) => void
  } = {},
): Promise<NodeBench> {
  const steps = opts.steps ?? 1_000
  const warmup = opts.warmup ?? 2_000
  const widthsAsked = [opts.parallel ?? [8, 32]].flat()
  if (widthsAsked.length === 0 || widthsAsked.some((w) => !Number.isInteger(w) || w < 1))
    throw new Error(`channels at once: whole numbers of at least 1, not ${widthsAsked.join(',')}`)
  const parallel = Math.max(...widthsAsked)
  const channels = opts.channels ?? 1000
  const log = opts.log ?? (() => undefined)
  const anvil = await startAnvil()
  const broker = await startBroker(opts.broker ?? 'auto')
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-node-'))
  const nodes: DemoNodeHandle[] = []
  try {
    const { funder, a, b, app, bench, chainId, adjudicator, appAddress, ctx } = await deployLoopApp(anvil)
    const config = {
      chain: {
        rpcUrl: anvil.rpcUrl,
        chainId,
        adjudicator,
        pollingIntervalMs: 1_000,
        apps: { [app.name]: appAddress },
      },
      broker: { url: broker.url },
    }
    for (const [name, acct] of [
      ['payer', a],
      ['payee', b],
    ] as const) {
      // Each node as `chanvm node --config FILE` runs it, in a process of its own.
      const node = await startDemoNode({
        role: name,
        dir: join(dir, name),
        config,
        privateKey: acct.privateKey,
        scryptN: 1024,
      })
      nodes.push(node)
    }
    const [payer, payee] = nodes as [DemoNodeHandle, DemoNodeHandle]
    const cpuNow = (): CpuMark => ({
      payer: cpuMs(payer.pid),
      payee: cpuMs(payee.pid),
      bench: (() => {
        const u = process.cpuUsage()
        return (u.user + u.system) / 1000
      })(),
      broker: broker.pid === undefined ? 0 : cpuMs(broker.pid),
    })
    const apis = [payer.api, payee.api].map((x) => createApiClient({ url: x.url, timeoutMs: 600_000 }))
    const [payerApi, payeeApi] = apis as [ApiClient, ApiClient]
    const idle = [rssMiB(payer.pid), rssMiB(payee.pid)]
    log(`  node: two nodes up over ${broker.kind}, RSS ${idle[0]} / ${idle[1]} MiB`)

    const funderClient = await createAdjudicatorClient({
      rpcUrl: anvil.rpcUrl,
      address: adjudicator,
      privateKey: funder.privateKey,
    })
    let nonce = BigInt(Date.now()) * 1_000n
    const deposits = 10n ** 18n
    /** Opens one channel through both APIs, the payer's deposit made first by the funder. */
    const open = async (amount: bigint): Promise<Hex> => {
      const n = nonce++
      const req = (role: 'first' | 'second', counterparty: Hex): OpenRequest => ({
        app: app.name,
        counterparty,
        role,
        balances: [amount, 0n],
        nonce: n,
        challengeDuration: 3_600n,
        terms: bench.open(ctx).terms as OpenRequest['terms'],
      })
      const { channelId } = requestToChannel(req('first', payee.address), {
        self: payer.address,
        chainId: BigInt(chainId),
        adjudicator,
        apps: { [app.name]: appAddress },
      })
      await depositQueue(channelId, amount)
      await Promise.all([
        payerApi.openChannel(req('first', payee.address)),
        payeeApi.openChannel(req('second', payer.address)),
      ])
      return channelId
    }
    // Deposits from the one funder account go one after the other (its transaction nonces).
    let chain = Promise.resolve()
    const depositQueue = (channelId: Hex, amount: bigint) => {
      const mine = chain.then(async () => {
        await deposit(funderClient, { channelId, participant: payer.address, amount })
      })
      chain = mine.catch(() => undefined)
      return mine
    }

    const loop: AppAction[] = bench.loop(ctx).map((a) => ({ app: app.name, action: a.action, args: a.args }))
    /** `n` rounded up to whole rounds of the loop, so that a channel's next drive starts it again. */
    const whole = (n: number) => Math.ceil(n / loop.length) * loop.length
    const drive = async (channelId: Hex, count: number, times?: number[]) => {
      for (let i = 0; i < count; i++) {
        const t0 = performance.now()
        const r = await payerApi.act(channelId, loop[i % loop.length]!)
        if (!r.ok) throw new Error(`step ${i} was not co-signed`)
        times?.push(performance.now() - t0)
      }
    }

    // One channel, one step after the other, after `warmup` steps: the figures of a node that
    // runs, not of a fresh process, whose JIT compiler is still optimizing. With 200 warm-up steps,
    // V8's log showed each node's optimizing compiler finishing 18 to 56 functions a second all
    // through the measure, on the cores the nodes share (a sixth of the CPU samples); about 15 s
    // into the load it falls to 2 to 4 a second, and the steps over many channels bring a new
    // burst of about 5 s.
    const one = await open(deposits)
    const warmOne = whole(warmup)
    await drive(one, warmOne)
    const times: number[] = []
    let cpu = cpuNow()
    let t = performance.now()
    await drive(one, steps, times)
    const stepsPerSec = Math.round(steps / ((performance.now() - t) / 1000))
    const cpuOne = perStep(cpu, cpuNow(), steps)
    times.sort((x, y) => x - y)
    log(`  node: ${stepsPerSec} co-signed steps/s through the API, one channel`)
    log(
      `  node: CPU ms per step: payer ${cpuOne.payer}, payee ${cpuOne.payee}, client${broker.kind === 'aedes' ? ' and broker' : ''} ${cpuOne.bench}, broker process ${cpuOne.broker}`,
    )

    // The HTTP part alone: a malformed action, refused by the API's schema before the node sees it.
    const posts: number[] = []
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now()
      await payerApi.act(one, { app: app.name, type: 'bogus' } as unknown as AppAction).catch(() => undefined)
      posts.push(performance.now() - t0)
    }
    posts.sort((x, y) => x - y)
    const refusedPostMs = Math.round(pct(posts, 50) * 10) / 10
    log(`  node: a refused POST takes ${refusedPostMs} ms (median)`)

    // Each width's channels at once, the same number of steps in all: the first `width` of the
    // widest width's channels, each width after a warm-up of its own.
    const many = await Promise.all(Array.from({ length: parallel }, () => open(deposits)))
    // Each deposit mined a block: a node proposes at the head it follows (polled every second),
    // and a peer refuses an env more than 10 blocks from its own view (the mover then reads the
    // head fresh and proposes again), so both views catch up first: no refused steps in a measure.
    await headsCaughtUp(apis, many[0] as Hex, await funderClient.publicClient.getBlockNumber())
    const widths: NodeBench['widths'] = []
    for (const width of widthsAsked) {
      const ids = many.slice(0, width)
      const warmEach = whole(Math.max(24, Math.ceil(warmup / width)))
      await Promise.all(ids.map((id) => drive(id, warmEach)))
      log(`  node: ${warmEach * width} warm-up steps over ${width} channels done, measuring`)
      const each = Math.max(2, Math.round(steps / width / 2) * 2)
      cpu = cpuNow()
      t = performance.now()
      await Promise.all(ids.map((id) => drive(id, each)))
      const rate = Math.round((each * width) / ((performance.now() - t) / 1000))
      widths.push({ channels: width, stepsPerSec: rate, cpuMsPerStep: perStep(cpu, cpuNow(), each * width) })
      log(`  node: ${rate} co-signed steps/s through the API, ${width} channels at once`)
    }
    const first = widths[0] as NodeBench['widths'][number]
    const warmParallel = whole(Math.max(24, Math.ceil(warmup / first.channels))) * first.channels

    // Up to `channels` open channels, then the node processes' resident memory.
    const have = 1 + parallel
    const openConcurrency = 16
    t = performance.now()
    await pool(Math.max(0, channels - have), openConcurrency, async (i) => {
      await open(1_000n)
      if ((i + 1) % 250 === 0) log(`  node: ${have + i + 1} channels open`)
    })
    const opensPerSec =
      Math.round((Math.max(0, channels - have) / ((performance.now() - t) / 1000)) * 10) / 10
    const listed = (await payerApi.listChannels()).length
    if (listed < channels) throw new Error(`the payer's node lists ${listed} channels, not ${channels}`)
    // Let the watchers take in the new channels before measuring.
    await new Promise((r) => setTimeout(r, 3_000))
    const full = [rssMiB(payer.pid), rssMiB(payee.pid)]
    log(`  node: ${listed} channels open, RSS ${full[0]} / ${full[1]} MiB (payer / payee)`)
    return {
      broker: broker.kind,
      stepsPerSec,
      parallelStepsPerSec: first.stepsPerSec,
      parallelChannels: first.channels,
      widths,
      stepMs: {
        p50: Math.round(pct(times, 50) * 10) / 10,
        p95: Math.round(pct(times, 95) * 10) / 10,
        p99: Math.round(pct(times, 99) * 10) / 10,
      },
      steps,
      warmupSteps: { one: warmOne, parallel: warmParallel },
      refusedPostMs,
      rssMiB: { idle: idle[0] ?? NaN, withChannels: full[0] ?? NaN, channels: listed },
      peerRssMiB: { idle: idle[1] ?? NaN, withChannels: full[1] ?? NaN },
      cpuMsPerStep: { one: cpuOne, parallel: first.cpuMsPerStep },
      opensPerSec,
      openConcurrency,
    }
  } finally {
    for (const n of nodes) await n.close().catch(() => undefined)
    await broker.stop()
    await anvil.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
