import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashState } from '../engine/channel/hashState.ts'
import { signDigest } from '../engine/crypto/signDigest.ts'
import { recoverDigestSigner } from '../engine/crypto/recoverDigestSigner.ts'
import { secp256k1Backend } from '../engine/crypto/secp256k1Backend.ts'
import { hashProposal } from '../engine/protocol/messageDigests.ts'
import { createCryptoPool, type CryptoOffload, type CryptoPool } from '../engine/crypto/createCryptoPool.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import { runTransition } from '../engine/sandbox/runTransition.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../engine/transport/createMemoryTransport.ts'
import { fixedEnv, testAddresses, testKeys } from '../test/support/channel.ts'
import type { Hex } from 'viem'
import { loopApp } from './loopApp.ts'
import { driveLoops, loopChannel, loopParty } from './loopChannel.ts'
import { runLoopChannelsTwoThreads } from './twoThreads.ts'
import { cryptoThreadsOf } from '../node/cryptoThreadsOf.ts'

/**
 * Crypto threads of the in-process runs: `CHANVM_CRYPTO_THREADS` (default 0, as a node: signs and
 * recovers on the main thread) and `CHANVM_CRYPTO_OFFLOAD` (`busy`, `always`, `never`; default `busy`).
 */
const CRYPTO_THREADS = cryptoThreadsOf(process.env)
const CRYPTO_OFFLOAD = ((raw = process.env.CHANVM_CRYPTO_OFFLOAD ?? 'busy'): CryptoOffload => {
  if (raw !== 'busy' && raw !== 'always' && raw !== 'never')
    throw new Error(`CHANVM_CRYPTO_OFFLOAD is ${JSON.stringify(raw)}: busy, always or never`)
  return raw
})()

/** The crypto pool both parties of a run share (each party ends it when it closes), or none. */
async function benchPool(threads: number): Promise<CryptoPool | undefined> {
  if (threads <= 0) return undefined
  const pool = createCryptoPool({
    threads,
    offload: CRYPTO_OFFLOAD,
    onFailure: (m) => process.stderr.write(`${m}\n`),
  })
  await pool.ready()
  return pool
}

/** Milliseconds of CPU in a `process.cpuUsage` difference. */
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000

/**
 * The protocol's figures. `stepsPerSec` and `stepsPerSecParallel` appear in the JSON as
 * `<app>StepsPerSec` and `<app>StepsPerSecParallel`, `<app>` the loop app's key (`escrowStepsPerSec`).
 */
export type ProtocolBench = Record<
  `${string}StepsPerSec` | `${string}StepsPerSecParallel` | `${string}StepsPerSecTwoThreads`,
  number
> & {
  parallelChannels: number
  /** Writes per disk sync in the parallel run (both stores), on average. */
  writesPerSync: number
  /** `<app>StepsPerSecParallel` over `cryptoBoundPerSec`, same run. */
  parallelOfCryptoBound: number
  /**
   * The many-channel run again with the two parties on two threads of this process (the payee on
   * a worker thread, see bench/twoThreads.ts), as two programs would run: `stepsPerSec` (the JSON's
   * `<app>StepsPerSecTwoThreads` too), writes per disk sync, process CPU per step (both threads),
   * and the rate over `cryptoBoundPerSec`, a one-core figure, so up to 2 on two cores.
   */
  twoThreads: {
    stepsPerSec: number
    writesPerSync: number
    cpuMsPerStep: number
    /** The share of the measure each party's thread was busy (its event loop's utilization). */
    busy: { payer: number; payee: number }
    ofCryptoBound: number
  }
  /** Co-signed steps per second if a step cost only its hashing, three signatures and three recoveries, on one core. */
  cryptoBoundPerSec: number
  /**
   * Milliseconds per co-signed step spent in each part, measured alone in the same run. `store` is
   * the wall time of a step's writes one after the other, each waiting for its disk sync (one
   * channel: no other write shares the sync); `storeCpu` is the CPU time those writes take.
   * `sandbox` is the wall time of a step's two sandbox runs (after a warm-up), `sandboxCpu` their CPU time.
   */
  perStepMs: {
    total: number
    sandbox: number
    sandboxCpu: number
    signatures: number
    store: number
    storeCpu: number
  }
  /**
   * Process CPU time (user + system, both parties, the store's disk syncs included) per co-signed
   * step, in milliseconds: `one` for the one-channel run, `parallel` for the many-channel run. Load
   * from other processes changes the rates more than these.
   */
  cpuMsPerStep: { one: number; parallel: number }
  /** Crypto threads both parties share in the runs (0: signatures and recoveries on the main thread). */
  cryptoThreads: number
  steps: number
  secp256k1: string
  sqliteSynchronous: string
}

/**
 * One channel of the loop app (the first built-in app whose benchmark inputs have a `loop`: the
 * escrow's FUND and RELEASE) between two parties in this process (in-memory hub, a SQLite file
 * each, WAL, synchronous=FULL, held exclusively as a node holds its store): `steps` co-signed steps, the loop's actions by participant 0 in
 * turn, after a warm-up of 50. Returns the rate and the parties, closed.
 */
export async function runLoopChannel(opts: {
  dir: string
  steps: number
  log?: (s: string) => void
  nonce?: bigint
  /** Crypto threads the two parties share. Default 0 (`CHANVM_CRYPTO_THREADS`). */
  cryptoThreads?: number
}) {
  const { dir, steps } = opts
  const cryptoPool = await benchPool(opts.cryptoThreads ?? CRYPTO_THREADS)
  const log = opts.log ?? (() => undefined)
  const hub = createMemoryHub()
  const { ch, actions, code } = await loopChannel(opts.nonce ?? 1n)
  const action = (i: number) => actions[i % actions.length] as Hex
  const mk = (i: 0 | 1) =>
    loopParty(i, {
      transport: hub.connect(testAddresses[i]!),
      store: createSqliteStore({ path: join(dir, `p${i}.db`), exclusive: true }),
      code,
      cryptoPool,
    })
  const payer = await mk(0)
  const payee = await mk(1)
  await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
  for (let i = 0; i < 50; i++) await payer.update(ch.channelId, action(i)) // warm up
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) {
    const r = await payer.update(ch.channelId, action(i))
    if (!r.ok) throw new Error(`bench step ${i} failed: ${r.reason}`)
    if (i % 250 === 249) log(`  protocol: ${i + 1}/${steps} co-signed steps`)
  }
  const stepsPerSec = steps / ((performance.now() - t0) / 1000)
  const cpuMsPerStep = cpuMs(process.cpuUsage(cpu0)) / steps
  await payer.close()
  await payee.close()
  return { stepsPerSec, cpuMsPerStep, payer, payee, ch, actions }
}

/**
 * `channels` channels of the loop app between the same two parties in this process (in-memory
 * hub, one SQLite file each, synchronous=FULL, held exclusively), all driven at once: `steps` co-signed steps in all,
 * the loop's actions by participant 0 in turn on each channel, after a warm-up of 4 steps a channel.
 */
export async function runLoopChannels(opts: {
  dir: string
  channels: number
  steps: number
  log?: (s: string) => void
  /** Crypto threads the two parties share. Default 0 (`CHANVM_CRYPTO_THREADS`). */
  cryptoThreads?: number
}): Promise<{ stepsPerSec: number; writesPerSync: number; cpuMsPerStep: number }> {
  const hub = createMemoryHub()
  const cryptoPool = await benchPool(opts.cryptoThreads ?? CRYPTO_THREADS)
  let syncs = 0
  let writes = 0
  const onCommit = (n: number) => {
    syncs++
    writes += n
  }
  const chs = await Promise.all(
    Array.from({ length: opts.channels }, (_, i) => loopChannel(1_000n + BigInt(i))),
  )
  const code = chs[0]!.code
  const mk = (i: 0 | 1) =>
    loopParty(i, {
      transport: hub.connect(testAddresses[i]!),
      store: createSqliteStore({ path: join(opts.dir, `p${i}.db`), exclusive: true, onCommit }),
      code,
      cryptoPool,
    })
  const payer = await mk(0)
  const payee = await mk(1)
  await Promise.all(
    chs
      .map(({ ch }) => ch)
      .flatMap((ch) => [payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)]),
  )
  const drive = (count: number) => driveLoops(payer, chs, count)
  await drive(4)
  const each = Math.max(2, Math.round(opts.steps / opts.channels / 2) * 2)
  syncs = 0
  writes = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await drive(each)
  const stepsPerSec = (each * opts.channels) / ((performance.now() - t0) / 1000)
  const cpuMsPerStep = cpuMs(process.cpuUsage(cpu0)) / (each * opts.channels)
  opts.log?.(
    `  protocol: ${Math.round(stepsPerSec)} co-signed steps/s over ${opts.channels} channels at once`,
  )
  await payer.close()
  await payee.close()
  return { stepsPerSec, writesPerSync: syncs === 0 ? 0 : writes / syncs, cpuMsPerStep }
}

/**
 * Co-signed steps of the loop app (see {@link runLoopChannel}) through the whole protocol: two parties in this process, an in-memory
 * hub, each with its own SQLite file (WAL, synchronous=FULL, held exclusively). Then the same signature work alone (3 signatures, 3 recoveries, 2 state digests and 2
 * proposal digests per step), so the two figures show where the time goes.
 */
export async function benchProtocol(
  opts: { steps?: number; parallelChannels?: number; log?: (s: string) => void } = {},
): Promise<ProtocolBench> {
  const steps = opts.steps ?? 1_000
  const parallelChannels = opts.parallelChannels ?? 16
  const log = opts.log ?? (() => undefined)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-'))
  try {
    const { key } = await loopApp()
    const { stepsPerSec, cpuMsPerStep, payer, ch, actions } = await runLoopChannel({ dir, steps, log })
    const { code } = await loopChannel(1n)
    const fund = actions[0] as Hex

    // Many channels at once between the same two parties (one store each).
    const par = await runLoopChannels({
      dir: join(dir, 'parallel'),
      channels: parallelChannels,
      steps,
      log,
    })
    const two = await runLoopChannelsTwoThreads({
      dir: join(dir, 'two-threads'),
      channels: parallelChannels,
      steps,
      log,
    })

    // The signature work of one step, alone: the state and proposal digests each party makes, the
    // mover's proposal signature and its check, the peer's state signature and the mover's check of
    // it, the mover's state signature and the peer's check of it (three signatures, three recoveries).
    const latest = (await payer.latest(ch.channelId))!.state
    const n = steps * 2
    const t1 = performance.now()
    for (let i = 0; i < n; i++) {
      const s = { ...latest, version: latest.version + BigInt(i) }
      const d = hashState(ch.params.chainId, ch.params.adjudicator, s)
      const p = hashProposal(ch.params, {
        channelId: ch.channelId,
        version: s.version,
        stateHash: d,
        mover: 0n,
        action: fund,
        ...fixedEnv,
      })
      recoverDigestSigner(p, signDigest(p, testKeys[0]!))
      hashState(ch.params.chainId, ch.params.adjudicator, s)
      hashProposal(ch.params, {
        channelId: ch.channelId,
        version: s.version,
        stateHash: d,
        mover: 0n,
        action: fund,
        ...fixedEnv,
      })
      const a = signDigest(d, testKeys[1]!)
      recoverDigestSigner(d, a)
      const b = signDigest(d, testKeys[0]!)
      // The peer checks the commit: the mover's signature is recovered; its own is compared with
      // the one it handed out, byte for byte, which costs no recovery.
      recoverDigestSigner(d, b)
    }
    const cryptoBoundPerSec = n / ((performance.now() - t1) / 1000)

    // The sandbox alone: a step is run twice (the mover, then the peer). Warmed up first, as the
    // runs inside the steps are; wall time and CPU time per step.
    const sandbox = await createSandbox()
    const transition = (i: number) =>
      runTransition(sandbox, {
        params: ch.params,
        from: latest,
        mover: 0n,
        action: actions[i % actions.length] as Hex,
        env: fixedEnv,
        appCode: code.code,
        appAbi: code.abi,
      })
    for (let i = 0; i < 300; i++) await transition(i)
    const runs = 3_000
    const cpu2 = process.cpuUsage()
    const t2 = performance.now()
    for (let i = 0; i < runs; i++) await transition(i)
    const sandboxMs = ((performance.now() - t2) / runs) * 2
    const sandboxCpuMs = (cpuMs(process.cpuUsage(cpu2)) / runs) * 2

    // The store alone: per step one record on the peer, one record + state on the mover, one state on the peer.
    const store = createSqliteStore({ path: join(dir, 'writes.db'), exclusive: true })
    const signed = (await payer.latest(ch.channelId))!
    const writes = 300
    const cpu3 = process.cpuUsage()
    const t3 = performance.now()
    for (let i = 0; i < writes; i++) {
      const s = { ...latest, version: latest.version + 1000n + BigInt(i) }
      const rec = {
        channelId: ch.channelId,
        version: s.version,
        digest: hashState(ch.params.chainId, ch.params.adjudicator, s),
        state: s,
      }
      await store.recordSignature(rec)
      await store.recordSignatureAndState(
        { ...rec, version: rec.version + 1_000_000n },
        { state: { ...s, version: rec.version + 1_000_000n }, signatures: signed.signatures },
      )
      await store.putSignedState(ch.channelId, { state: s, signatures: signed.signatures })
    }
    const storeMs = (performance.now() - t3) / writes
    const storeCpu = process.cpuUsage(cpu3)
    const storeCpuMs = (storeCpu.user + storeCpu.system) / 1000 / writes
    await store.close()

    const keyed: Record<string, number> = {
      [`${key}StepsPerSec`]: stepsPerSec,
      [`${key}StepsPerSecParallel`]: par.stepsPerSec,
      [`${key}StepsPerSecTwoThreads`]: two.stepsPerSec,
    }
    return Object.assign(keyed, {
      parallelChannels,
      writesPerSync: par.writesPerSync,
      parallelOfCryptoBound: par.stepsPerSec / cryptoBoundPerSec,
      twoThreads: { ...two, ofCryptoBound: two.stepsPerSec / cryptoBoundPerSec },
      cryptoBoundPerSec,
      perStepMs: {
        total: 1000 / stepsPerSec,
        sandbox: sandboxMs,
        sandboxCpu: sandboxCpuMs,
        signatures: 1000 / cryptoBoundPerSec,
        store: storeMs,
        storeCpu: storeCpuMs,
      },
      cpuMsPerStep: { one: cpuMsPerStep, parallel: par.cpuMsPerStep },
      cryptoThreads: CRYPTO_THREADS,
      steps,
      secp256k1: secp256k1Backend.name,
      sqliteSynchronous: 'FULL',
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Channels are independent, so a node with many channels can run one process per core. This runs
 * one channel of the loop app (both parties, SQLite FULL) in each of `processes` child processes at
 * once and adds up their rates: the throughput of the whole machine, next to the one-process
 * figure, as `<app>StepsPerSecAllCores`.
 */
export async function benchProtocolAllCores(
  opts: { steps?: number; processes?: number } = {},
): Promise<{ [key: `${string}StepsPerSecAllCores`]: number; processes: number }> {
  const { key } = await loopApp()
  const steps = opts.steps ?? 1_000
  const processes = opts.processes ?? cpus().length
  const script = fileURLToPath(new URL('./loopChannelProcess.ts', import.meta.url))
  const runs = Array.from(
    { length: processes },
    (_, i) =>
      new Promise<number>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', script, String(steps), String(i + 1)],
          { timeout: 600_000 },
          (err, stdout) => {
            if (err !== null) return reject(err)
            const line = stdout.trim().split('\n').pop() ?? ''
            resolve((JSON.parse(line) as { stepsPerSec: number }).stepsPerSec)
          },
        )
      }),
  )
  const rates = await Promise.all(runs)
  return { [`${key}StepsPerSecAllCores`]: rates.reduce((a, b) => a + b, 0), processes }
}
