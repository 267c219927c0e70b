// "No reading lost, none handed over twice" for a consumer that is killed and restarted: durable
// replay marks (createSqliteReplayStore) seed the validator after a restart, and on Mosquitto a
// consumer process is SIGKILLed at random points, before, inside and after its handler's
// transaction, while a broker restart happens in the middle.
import { strict as assert } from 'node:assert'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { connectMqtt } from '../../oracles/mqtt/connectMqtt.ts'
import { createInputValidator } from '../../oracles/mqtt/createInputValidator.ts'
import { createSqliteReplayStore } from '../../oracles/mqtt/createSqliteReplayStore.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { replayEntryOf, type ReplayStore } from '../../oracles/mqtt/replayStore.ts'
import { brokerOrSkip, startAedes, startRestartableMosquitto, type RestartableMosquitto } from './brokers.ts'
import { CHAIN, NOW_MS, deviceKeys, knownDevices, validReading } from './hostile.ts'
import { knownDeviceSource } from './knownDeviceSource.ts'
import { bundleChildScript, seeded } from '../support/childScripts.ts'

const script = fileURLToPath(new URL('./support/consumerProcess.ts', import.meta.url))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const payload = (curve: 'secp256k1' | 'p256', sequence: bigint) => {
  const r = validReading(curve, { sequence })
  return { topic: readingTopic(r.device as Hex), text: JSON.stringify(r) }
}

describe('Durable replay marks (SQLite) across a restart of the validator', function () {
  this.timeout(60_000)
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-replay-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const open = (file = join(dir, 'replay.sqlite'), keepRecent?: number) => {
    const replayStore = createSqliteReplayStore(
      keepRecent === undefined ? { path: file } : { path: file, keepRecent },
    )
    const validator = createInputValidator({
      chainId: CHAIN,
      devices: knownDevices,
      now: () => NOW_MS,
      replayStore,
    })
    return { replayStore, validator }
  }

  it('a committed reading is a duplicate after the restart; one accepted but not committed is accepted again', () => {
    const a = payload('p256', 10n)
    const b = payload('p256', 11n)
    const first = open()
    const va = first.validator.check(a.topic, a.text)
    assert.ok(va.ok)
    first.validator.commit(va.input)
    assert.ok(first.validator.check(b.topic, b.text).ok) // its handler never completed
    first.replayStore.close()

    const second = open()
    const again = second.validator.check(a.topic, a.text)
    assert.equal(again.ok ? 'accepted' : again.verdict, 'duplicate')
    const vb = second.validator.check(b.topic, b.text)
    assert.ok(vb.ok, 'the reading whose handler did not complete is not lost')
    second.replayStore.close()
  })

  it('a reading its handler recorded in its own transaction is not forgotten when the handler fails afterwards', () => {
    const { replayStore, validator } = open()
    const a = payload('secp256k1', 20n)
    const v = validator.check(a.topic, a.text)
    assert.ok(v.ok)
    replayStore.record(replayEntryOf(v.input))
    assert.equal(validator.forget(v.input), false)
    const copy = validator.check(a.topic, a.text)
    assert.equal(copy.ok ? 'accepted' : copy.verdict, 'duplicate')
    replayStore.close()
  })

  it('keeps marks of any uint64 in numeric order, and a pruned digest still refuses its copy (stale-sequence)', () => {
    const { replayStore } = open(join(dir, 'marks.sqlite'), 2)
    const s = '0xaa/readings'
    for (const sequence of [9n, 2n ** 64n - 1n, 10n, 3n])
      replayStore.record({ stream: s, sequence, digest: `0x${'11'.repeat(32)}` })
    // 9 and 10 fell out of the window when the mark jumped; 3 was below it.
    assert.deepEqual(replayStore.load(10).marks, [{ stream: s, mark: 2n ** 64n - 1n, seen: 1n }])
    assert.throws(
      () => replayStore.record({ stream: s, sequence: 2n ** 64n, digest: `0x${'11'.repeat(32)}` }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
    )
    replayStore.close()
    writeFileSync(join(dir, 'a-file'), '')
    assert.throws(
      () => createSqliteReplayStore({ path: join(dir, 'k.sqlite'), keepRecent: 0 }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'INVALID_ARGUMENT',
    )
    assert.throws(
      () => createSqliteReplayStore({ path: join(dir, 'a-file', 'replay.sqlite') }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR',
    )

    const first = open(join(dir, 'pruned.sqlite'), 1)
    const old = payload('p256', 30n)
    const vo = first.validator.check(old.topic, old.text)
    assert.ok(vo.ok)
    first.validator.commit(vo.input)
    const next = payload('p256', 31n)
    const vn = first.validator.check(next.topic, next.text)
    assert.ok(vn.ok)
    first.validator.commit(vn.input)
    first.replayStore.close()
    const second = open(join(dir, 'pruned.sqlite'), 1)
    const copy = second.validator.check(old.topic, old.text)
    assert.equal(copy.ok ? 'accepted' : copy.verdict, 'stale-sequence')
    second.replayStore.close()
  })

  it('keeps the replay window: a late reading committed before the restart is refused after it, one not yet seen inside the window is accepted, one below it refused', () => {
    const first = open()
    for (const sequence of [2_000n, 1_997n]) {
      const m = payload('p256', sequence)
      const v = first.validator.check(m.topic, m.text)
      assert.ok(v.ok, `${sequence}`)
      first.validator.commit(v.input)
    }
    first.replayStore.close()
    // A store without digests (all pruned) must still know which sequences of the window were taken.
    const file = join(dir, 'replay.sqlite')
    const db = new Database(file)
    db.exec('DELETE FROM chanvm_replay_recent')
    db.close()
    const second = open()
    const pick = (sequence: bigint) => {
      const m = payload('p256', sequence)
      const v = second.validator.check(m.topic, m.text)
      return v.ok ? 'accepted' : v.verdict
    }
    assert.equal(pick(1_997n), 'stale-sequence', 'taken before the restart')
    assert.equal(pick(2_000n), 'stale-sequence', 'the mark itself')
    assert.equal(pick(1_998n), 'accepted', 'late, inside the window, not seen')
    assert.equal(pick(2_000n - 1_024n), 'stale-sequence', 'below the window')
    second.replayStore.close()
  })

  it('a store written before windows (no seen column) refuses everything at or below its marks, and goes on above', () => {
    const file = join(dir, 'old.sqlite')
    const db = new Database(file)
    const stream = `${knownDevices[1]}/readings`
    db.exec(`CREATE TABLE chanvm_replay_marks (stream TEXT PRIMARY KEY, mark TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO chanvm_replay_marks VALUES ('${stream}', '${50n.toString().padStart(20, '0')}')`)
    db.close()
    const s = open(file)
    const pick = (sequence: bigint) => {
      const m = payload('p256', sequence)
      const v = s.validator.check(m.topic, m.text)
      if (v.ok) s.validator.commit(v.input)
      return v.ok ? 'accepted' : v.verdict
    }
    assert.equal(pick(49n), 'stale-sequence')
    assert.equal(pick(52n), 'accepted')
    assert.equal(pick(51n), 'accepted')
    assert.equal(pick(50n), 'stale-sequence')
    s.replayStore.close()
  })

  it('property: after any interleaving of accepts, commits and restarts, a committed reading is never accepted again and an uncommitted one above the mark is', () => {
    const signed = Array.from({ length: 12 }, (_, i) => payload('secp256k1', 1_000n + BigInt(i)))
    let run = 0
    fc.assert(
      fc.property(
        fc.array(fc.record({ commit: fc.boolean(), restart: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        (steps) => {
          const file = join(dir, `p${run++}.sqlite`)
          let s = open(file)
          const committed = new Set<number>()
          try {
            for (const [i, step] of steps.entries()) {
              const m = signed[i] as { topic: string; text: string }
              const v = s.validator.check(m.topic, m.text)
              if (!v.ok) return false // every reading is new and above the mark
              if (step.commit) {
                s.validator.commit(v.input)
                committed.add(i)
              }
              if (step.restart) {
                s.replayStore.close()
                s = open(file)
                // Every committed reading is refused; the latest, if not committed, is accepted.
                for (const c of committed) {
                  const again = signed[c] as { topic: string; text: string }
                  if (s.validator.check(again.topic, again.text).ok) return false
                }
                if (!committed.has(i) && !s.validator.check(m.topic, m.text).ok) return false
              }
            }
            return true
          } finally {
            s.replayStore.close()
          }
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe('The input source with a replay file', function () {
  this.timeout(60_000)
  it('records the mark once the handler completed: the next source on the file refuses that reading as a duplicate and accepts the one whose handler failed', async () => {
    const broker = await startAedes()
    const dir = mkdtempSync(join(tmpdir(), 'chanvm-replay-file-'))
    const replayFile = join(dir, 'inputs', 'replay.sqlite')
    const device = await connectMqtt({ url: broker.url })
    const make = (clientId: string) =>
      knownDeviceSource(broker.url, { clean: false, clientId, replayFile, redeliverAfterMs: 0 })
    const a = payload('p256', 40n)
    const b = payload('p256', 41n)
    try {
      const first = await make(`chanvm-replay-file-1-${process.pid}`)
      const seen: bigint[] = []
      first.onInput(async (input) => {
        seen.push(input.sequence)
        if (input.sequence === 41n) throw new Error('disk full')
      })
      for (const m of [a, b]) await device.client.publishAsync(m.topic, m.text, { qos: 1 })
      for (let i = 0; seen.length < 2 && i < 2_000; i++) await sleep(5)
      assert.deepEqual(seen, [40n, 41n])
      await first.close()

      // The broker sends both again (here: they are published again, byte for byte).
      const second = await make(`chanvm-replay-file-2-${process.pid}`)
      const got: bigint[] = []
      second.onInput((input) => {
        got.push(input.sequence)
      })
      for (const m of [a, b]) await device.client.publishAsync(m.topic, m.text, { qos: 1 })
      for (let i = 0; got.length < 1 && i < 2_000; i++) await sleep(5)
      await sleep(100)
      assert.deepEqual(got, [41n], 'only the reading whose handler failed is handed over again')
      assert.equal(second.stats().verdicts.duplicate, 1)
      await second.close()
    } finally {
      await device.close()
      await broker.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('The input source with a replay store that fails', function () {
  this.timeout(60_000)
  it('leaves the reading unacknowledged and not accepted: it comes again, is handed over again and then recorded', async () => {
    const broker = await startAedes()
    const recorded = new Map<string, Hex>()
    let failures = 1
    const replayStore: ReplayStore = {
      load: () => ({ marks: [], recent: [] }),
      record(entry) {
        if (failures-- > 0) throw new ChanvmError('STORE_ERROR', 'disk full')
        recorded.set(`${entry.stream}#${entry.sequence}`, entry.digest)
      },
      holds: (entry) => recorded.get(`${entry.stream}#${entry.sequence}`) === entry.digest,
      close: () => undefined,
    }
    const source = await knownDeviceSource(broker.url, {
      clean: false,
      clientId: `chanvm-replay-fails-${process.pid}`,
      replayStore,
      redeliverAfterMs: 50,
    })
    const device = await connectMqtt({ url: broker.url })
    try {
      const handed: bigint[] = []
      source.onInput((input) => {
        handed.push(input.sequence)
      })
      const m = payload('secp256k1', 50n)
      await device.client.publishAsync(m.topic, m.text, { qos: 1 })
      for (let i = 0; recorded.size === 0 && i < 2_000; i++) await sleep(5)
      assert.equal(recorded.size, 1, 'recorded once the store works again')
      assert.deepEqual(handed, [50n, 50n], 'handed over again: the handler must be idempotent here')
      await device.client.publishAsync(m.topic, m.text, { qos: 1 })
      await sleep(100)
      assert.deepEqual(handed, [50n, 50n])
      assert.equal(source.stats().verdicts.duplicate, 1)
    } finally {
      await device.close()
      await source.close()
      await broker.stop()
    }
  })
})

describe('A consumer SIGKILLed and restarted on Mosquitto loses no reading and stores none twice', function () {
  const kills = Number(process.env.CHANVM_CONSUMER_KILLS ?? '') || 12
  this.timeout(240_000 + kills * 30_000) // a bound for a hang: each kill restarts a process
  let broker: RestartableMosquitto
  let dir: string
  let entry: { file: string; execArgv: string[] }
  before(async function () {
    broker = await brokerOrSkip(this, startRestartableMosquitto())
    dir = mkdtempSync(join(tmpdir(), 'chanvm-consumer-'))
    entry = await bundleChildScript(script, 'consumer')
  })
  after(async () => {
    await broker?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    if (entry !== undefined && entry.execArgv.length === 0)
      rmSync(join(entry.file, '..'), { recursive: true, force: true })
  })

  for (const marks of ['own-transaction', 'after-handler'] as const)
    it(`marks ${marks === 'own-transaction' ? "in the handler's transaction" : 'recorded after the handler'}, ${kills} kills at random points, one broker restart: every published sequence stored exactly once${marks === 'own-transaction' ? ', none handed over twice' : ', at most one handed over twice per kill'}`, async () => {
      const seed = Number(process.env.CHANVM_CONSUMER_SEED ?? '') || Math.floor(Math.random() * 2 ** 31)
      console.log(`      seed ${seed} (CHANVM_CONSUMER_SEED=${seed} replays it), ${kills} kills`)
      const random = seeded(seed)
      const perDevice = Math.max(500, kills * 50)
      const total = perDevice * 2
      const db = join(dir, `consumer-${marks}.sqlite`)
      const clientId = `chanvm-consumer-${marks}-${process.pid}-${Date.now()}`
      const devices = [deviceKeys.secp256k1, deviceKeys.p256]
      const deviceIds = knownDevices

      let stored = 0
      let child: ChildProcess | undefined
      const start = (crash?: string) =>
        new Promise<ChildProcess>((resolve, reject) => {
          const proc = fork(entry.file, [], {
            execArgv: entry.execArgv,
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            env: {
              ...process.env,
              CHANVM_BROKER_URL: broker.url,
              CHANVM_DB: db,
              CHANVM_CLIENT_ID: clientId,
              CHANVM_DEVICES: deviceIds.join(','),
              CHANVM_CHAIN_ID: CHAIN.toString(),
              CHANVM_CRASH: crash ?? '',
              CHANVM_MARKS: marks,
            },
          })
          proc.on('message', (m: { ready?: number; stored?: number }) => {
            if (m.ready !== undefined) {
              stored = Math.max(stored, m.ready)
              resolve(proc)
            }
            if (m.stored !== undefined) stored = Math.max(stored, m.stored)
          })
          proc.once('exit', (code, signal) => {
            // An armed consumer may crash at its first reading, before its `ready` got out.
            if (crash !== undefined && signal === 'SIGKILL') resolve(proc)
            reject(new Error(`the consumer exited before it was ready (${signal ?? code})`))
          })
        })
      const exited = (p: ChildProcess) =>
        p.exitCode !== null || p.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((r) => p.once('exit', () => r()))
      const until = async (what: string, f: () => boolean, ms: number) => {
        const end = Date.now() + ms
        while (!f()) {
          if (Date.now() > end)
            throw new Error(`timed out waiting for ${what} (${stored} of ${total} stored)`)
          await sleep(5)
        }
      }

      // The first start subscribes the persistent session before anything is published.
      child = await start()
      const device = await connectMqtt({
        url: broker.url,
        clientId: `${clientId}-device`,
        minBackoffMs: 50,
        maxBackoffMs: 400,
      })
      let published = 0
      let brokerRestart: Promise<void> | undefined
      const publishing = (async () => {
        for (let i = 0; i < perDevice; i++) {
          for (const [d, key] of devices.entries()) {
            const r = validReading(key.curve, {
              sequence: BigInt(i + 1),
              timestamp: BigInt(Math.floor(Date.now() / 1000)),
            })
            await device.client.publishAsync(readingTopic(deviceIds[d] as Hex), JSON.stringify(r), { qos: 1 })
            published++
          }
          if (i === Math.floor(perDevice / 2)) brokerRestart = broker.restart('SIGTERM', 500)
          if (i % 4 === 0) await sleep(1)
        }
      })()

      // Kill points spread over the run: by the consumer's progress, then by kind.
      const targets = Array.from({ length: kills }, () => Math.floor(total * (0.05 + 0.9 * random()))).sort(
        (a, b) => a - b,
      )
      const kinds = { random: 0, before: 0, inside: 0, after: 0 }
      let deaths = 0 // kills, armed crashes included
      try {
        for (const target of targets) {
          const proc = child
          await until(`the consumer to reach ${target}`, () => stored >= target || stored >= total, 60_000)
          const roll = random()
          const kind = roll < 0.4 ? 'random' : roll < 0.6 ? 'before' : roll < 0.8 ? 'inside' : 'after'
          if (kind === 'random') await sleep(Math.floor(random() * 40))
          // Armed: restarted to kill itself at its n-th reading from now (before, inside or after its
          // transaction); the current one is killed to restart it so.
          proc.kill('SIGKILL')
          await exited(proc)
          deaths++
          if (kind === 'random') {
            kinds.random++
            child = await start()
            continue
          }
          const armed = await start(`${kind}:${1 + Math.floor(random() * 20)}`)
          child = armed
          await until(
            'the armed consumer to crash',
            () => armed.signalCode !== null || stored >= total,
            60_000,
          )
          if (armed.signalCode === null) continue // nothing left to handle: it stays
          deaths++
          kinds[kind]++
          child = await start()
        }
        await publishing
        await brokerRestart
        await until('every reading stored', () => stored >= total, 60_000)
        await sleep(300) // redeliveries that were on their way are refused, and counted
        const stats = await new Promise<Record<string, unknown>>((resolve) => {
          child?.once('message', (m: { stats?: Record<string, unknown> }) => resolve(m.stats ?? {}))
          child?.send({ stop: true })
        })
        await exited(child)
        console.log(
          `      ${published} readings published, ${stored} stored; ${deaths} consumer deaths: ${JSON.stringify(kinds)}; last run: ${JSON.stringify(stats)}`,
        )
      } finally {
        if (child !== undefined && child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL')
          await exited(child)
        }
        await device.close()
      }

      const result = new Database(db, { readonly: true })
      try {
        const rows = result.prepare('SELECT signer, sequence FROM readings').all() as {
          signer: string
          sequence: number
        }[]
        const counters = Object.fromEntries(
          (result.prepare('SELECT name, n FROM counters').all() as { name: string; n: number }[]).map((r) => [
            r.name,
            r.n,
          ]),
        )
        console.log(`      counters: ${JSON.stringify(counters)}`)
        for (const [d, id] of deviceIds.entries()) {
          const have = new Set(rows.filter((r) => r.signer === id).map((r) => r.sequence))
          const missing = Array.from({ length: perDevice }, (_, i) => i + 1).filter((s) => !have.has(s))
          assert.deepEqual(missing.slice(0, 20), [], `device ${d}: ${missing.length} sequences lost`)
          assert.equal(have.size, perDevice)
        }
        assert.equal(rows.length, total, 'no reading stored twice, none from elsewhere')
        if (marks === 'own-transaction')
          assert.equal(counters.existing ?? 0, 0, 'the handler was never handed a reading it had stored')
        else {
          // Killed after the handler's commit and before the mark: that one reading comes again.
          const again = counters.existing ?? 0
          assert.ok(
            again >= kinds.after,
            `${again} handed over again, fewer than the ${kinds.after} kills between`,
          )
          assert.ok(again <= deaths, `${again} handed over again, more than one per kill (${deaths})`)
        }
        const verdicts = Object.keys(counters).filter((k) => k.startsWith('verdict:'))
        assert.deepEqual(
          verdicts.filter((k) => k !== 'verdict:duplicate'),
          [],
          'the only refusals are duplicates: no reading was refused as stale, rate-limited or out of order',
        )
        assert.ok(
          (counters['verdict:duplicate'] ?? 0) >= (marks === 'own-transaction' ? kinds.after : 0),
          `every reading marked but not acknowledged came again as a duplicate (${kinds.after} kills)`,
        )
        const markRows = result
          .prepare('SELECT stream, mark FROM chanvm_replay_marks ORDER BY stream')
          .all() as {
          stream: string
          mark: string
        }[]
        assert.deepEqual(
          markRows.map((m) => BigInt(m.mark)),
          [BigInt(perDevice), BigInt(perDevice)],
        )
      } finally {
        result.close()
      }
    })
})
