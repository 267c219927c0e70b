import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { escrowActions, escrowApp } from '../apps/escrow/escrowClient.ts'
import { hashState } from '../engine/channel/hashState.ts'
import { signDigest } from '../engine/crypto/signDigest.ts'
import { recoverDigestSigner } from '../engine/crypto/recoverDigestSigner.ts'
import { secp256k1Backend } from '../engine/crypto/secp256k1Backend.ts'
import { hashProposal } from '../engine/protocol/messageDigests.ts'
import { createParty } from '../engine/protocol/createParty.ts'
import { createKeySigner } from '../engine/crypto/createKeySigner.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import { runTransition } from '../engine/sandbox/runTransition.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../engine/transport/createMemoryTransport.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../test/support/channel.ts'

export type ProtocolBench = {
  escrowStepsPerSec: number
  /**
   * The same two parties and stores with `parallelChannels` channels driven at once: all steps of
   * all channels per second. The store's group commit lets their writes share disk syncs.
   */
  escrowStepsPerSecParallel: number
  parallelChannels: number
  /** Writes per disk sync in the parallel run (both stores), on average. */
  writesPerSync: number
  /** `escrowStepsPerSecParallel` over `cryptoBoundPerSec`, same run. */
  parallelOfCryptoBound: number
  cryptoBoundPerSec: number
  /** Milliseconds per co-signed step spent in each part, measured alone in the same run. */
  perStepMs: { total: number; sandbox: number; signatures: number; store: number }
  steps: number
  secp256k1: string
  sqliteSynchronous: string
}

/**
 * One Escrow channel between two parties in this process (in-memory hub, a SQLite file each,
 * WAL, synchronous=FULL): `steps` co-signed steps, FUND and RELEASE by the payer in turn, after a
 * warm-up of 50. Returns the rate and the parties, still open.
 */
export async function runEscrowChannel(opts: {
  dir: string
  steps: number
  log?: (s: string) => void
  nonce?: bigint
}) {
  const { dir, steps } = opts
  const log = opts.log ?? (() => undefined)
  const hub = createMemoryHub()
  const ch = escrowChannel({
    deposit: 10n ** 18n,
    ...(opts.nonce === undefined ? {} : { nonce: opts.nonce }),
  })
  const mk = async (i: 0 | 1) =>
    createParty({
      signer: createKeySigner(testKeys[i]!),
      transport: hub.connect(testAddresses[i]!),
      store: createSqliteStore({ path: join(dir, `p${i}.db`) }),
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock: () => fixedEnv,
      requireFunding: false, // no chain here: nothing to confirm deposits against
    })
  const payer = await mk(0)
  const payee = await mk(1)
  await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
  const fund = escrowActions.fund(1n, fixedEnv.timestamp + 3600n)
  const release = escrowActions.release()
  for (let i = 0; i < 50; i++) await payer.update(ch.channelId, i % 2 === 0 ? fund : release) // warm up
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) {
    const r = await payer.update(ch.channelId, i % 2 === 0 ? fund : release)
    if (!r.ok) throw new Error(`bench step ${i} failed: ${r.reason}`)
    if (i % 250 === 249) log(`  protocol: ${i + 1}/${steps} co-signed steps`)
  }
  const escrowStepsPerSec = steps / ((performance.now() - t0) / 1000)
  await payer.close()
  await payee.close()
  return { escrowStepsPerSec, payer, payee, ch, fund, release }
}

/**
 * `channels` Escrow channels between the same two parties in this process (in-memory hub, one
 * SQLite file each, synchronous=FULL), all driven at once: `steps` co-signed steps in all, FUND
 * and RELEASE by the payer in turn on each channel, after a warm-up of 4 steps a channel.
 */
export async function runEscrowChannels(opts: {
  dir: string
  channels: number
  steps: number
  log?: (s: string) => void
}): Promise<{ stepsPerSec: number; writesPerSync: number }> {
  const hub = createMemoryHub()
  let syncs = 0
  let writes = 0
  const onCommit = (n: number) => {
    syncs++
    writes += n
  }
  const mk = async (i: 0 | 1) =>
    createParty({
      signer: createKeySigner(testKeys[i]!),
      transport: hub.connect(testAddresses[i]!),
      store: createSqliteStore({ path: join(opts.dir, `p${i}.db`), onCommit }),
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock: () => fixedEnv,
      requireFunding: false,
    })
  const payer = await mk(0)
  const payee = await mk(1)
  const chs = Array.from({ length: opts.channels }, (_, i) =>
    escrowChannel({ deposit: 10n ** 18n, nonce: 1_000n + BigInt(i) }),
  )
  await Promise.all(
    chs.flatMap((ch) => [payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)]),
  )
  const fund = escrowActions.fund(1n, fixedEnv.timestamp + 3600n)
  const release = escrowActions.release()
  const drive = (count: number) =>
    Promise.all(
      chs.map(async (ch) => {
        for (let i = 0; i < count; i++) {
          const r = await payer.update(ch.channelId, i % 2 === 0 ? fund : release)
          if (!r.ok) throw new Error(`bench step ${i} failed: ${r.reason}`)
        }
      }),
    )
  await drive(4)
  const each = Math.max(2, Math.round(opts.steps / opts.channels / 2) * 2)
  syncs = 0
  writes = 0
  const t0 = performance.now()
  await drive(each)
  const stepsPerSec = (each * opts.channels) / ((performance.now() - t0) / 1000)
  opts.log?.(
    `  protocol: ${Math.round(stepsPerSec)} co-signed steps/s over ${opts.channels} channels at once`,
  )
  await payer.close()
  await payee.close()
  return { stepsPerSec, writesPerSync: syncs === 0 ? 0 : writes / syncs }
}

/**
 * Co-signed Escrow steps through the whole protocol: two parties in this process, an in-memory
 * hub, each with its own SQLite file (WAL, synchronous=FULL). Alternates FUND and RELEASE by the
 * payer. Then the same signature work alone (3 signatures, 4 recoveries, 2 state digests and 2
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
    const { escrowStepsPerSec, payer, ch, fund, release } = await runEscrowChannel({ dir, steps, log })

    // Many channels at once between the same two parties (one store each).
    const par = await runEscrowChannels({
      dir: join(dir, 'parallel'),
      channels: parallelChannels,
      steps,
      log,
    })

    // The signature work of one step, alone.
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
      recoverDigestSigner(d, a)
      recoverDigestSigner(d, b)
    }
    const cryptoBoundPerSec = n / ((performance.now() - t1) / 1000)

    // The sandbox alone: a step is run twice (the mover, then the peer).
    const sandbox = await createSandbox()
    const runs = 500
    const t2 = performance.now()
    for (let i = 0; i < runs; i++) {
      await runTransition(sandbox, {
        params: ch.params,
        from: latest,
        mover: 0n,
        action: i % 2 === 0 ? fund : release,
        env: fixedEnv,
        appCode: escrowApp.code,
        appAbi: escrowApp.abi,
      })
    }
    const sandboxMs = ((performance.now() - t2) / runs) * 2

    // The store alone: per step one record on the peer, one record + state on the mover, one state on the peer.
    const store = createSqliteStore({ path: join(dir, 'writes.db') })
    const signed = (await payer.latest(ch.channelId))!
    const writes = 300
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
    await store.close()

    return {
      escrowStepsPerSec,
      escrowStepsPerSecParallel: par.stepsPerSec,
      parallelChannels,
      writesPerSync: par.writesPerSync,
      parallelOfCryptoBound: par.stepsPerSec / cryptoBoundPerSec,
      cryptoBoundPerSec,
      perStepMs: {
        total: 1000 / escrowStepsPerSec,
        sandbox: sandboxMs,
        signatures: 1000 / cryptoBoundPerSec,
        store: storeMs,
      },
      steps,
      secp256k1: secp256k1Backend.name,
      sqliteSynchronous: 'FULL',
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Channels are independent, so a node with many channels can run one process per core. This runs
 * one Escrow channel (both parties, SQLite FULL) in each of `processes` child processes at once and
 * adds up their rates: the throughput of the whole machine, next to the one-process figure.
 */
export async function benchProtocolAllCores(
  opts: { steps?: number; processes?: number } = {},
): Promise<{ escrowStepsPerSecAllCores: number; processes: number }> {
  const steps = opts.steps ?? 1_000
  const processes = opts.processes ?? cpus().length
  const script = fileURLToPath(new URL('./escrowChannelProcess.ts', import.meta.url))
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
            resolve((JSON.parse(line) as { escrowStepsPerSec: number }).escrowStepsPerSec)
          },
        )
      }),
  )
  const rates = await Promise.all(runs)
  return { escrowStepsPerSecAllCores: rates.reduce((a, b) => a + b, 0), processes }
}
