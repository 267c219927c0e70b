// The kill test: two parties in two processes (SQLite file store, MQTT transport with a persistent
// session, sandbox, Escrow) over a real broker drive an Escrow channel from both sides while one of
// them is killed with SIGKILL again and again: after random delays, and at protocol points (right
// before or after a store write, through a crash-injecting store). Each time it is restarted from
// its file. What must hold:
//   1. no party signs one version with two digests (its store records, the signatures seen on the
//      wire, and the co-signed states both parties hold agree);
//   2. no co-signed state a party reported as committed is missing from its file after the kill;
//   3. after every restart the channel makes progress (the restarted party commits a new version
//      within PROGRESS_MS).
// CHANVM_KILLS=N kills N times (default 50); CHANVM_KILL_SEED=s replays a run (the seed is printed).
// The broker is Mosquitto when available (CHANVM_MOSQUITTO_URL or the binary), else aedes in-process
// (CHANVM_KILL_BROKER=aedes forces it).
import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { recoverAddress, type Address, type Hex } from 'viem'
import { paramsToWire, stateToWire } from '../../engine/channel/wire.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { startAedes, startMosquitto, type TestBroker } from '../oracles/brokers.ts'
import { escrowChannel, testAddresses } from '../support/channel.ts'
import { CRASH_METHODS, type CrashPoint } from '../support/killStore.ts'
import { bundleChildScript, seeded } from '../support/childScripts.ts'

const KILLS = Number(process.env.CHANVM_KILLS ?? '50')
const SEED = Number(process.env.CHANVM_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31))
const PROGRESS_MS = 30_000
const RESPONSE_TIMEOUT_MS = 2_000
const script = fileURLToPath(new URL('../support/killParty.ts', import.meta.url))

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** A state as one comparable string (the IPC copy has decimal strings where the store has bigints). */
const stateKey = (s: { version: unknown; balances: readonly unknown[]; appData: string; isFinal: boolean }) =>
  `${String(s.version)}|${s.balances.map(String).join(',')}|${s.appData.toLowerCase()}|${s.isFinal}`

type WireStateJson = { version: string; balances: string[]; appData: string; isFinal: boolean }
type PartyEventJson = {
  type: string
  version?: string
  digest?: string
  state?: WireStateJson
  reason?: string
  message?: string
}
type Stepped = { id: number; ok: boolean; version?: string; reason?: string }

type Life = {
  index: number
  proc: ChildProcess
  ready: boolean
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  dead: boolean
  steps: Map<number, (s: Stepped | undefined) => void>
}

describe('protocol: parties killed with SIGKILL over a real broker', function () {
  this.timeout(600_000)
  let broker: TestBroker
  let dir: string
  let entry: { file: string; execArgv: string[] }
  before(async () => {
    const m =
      process.env.CHANVM_KILL_BROKER === 'aedes'
        ? { skip: 'CHANVM_KILL_BROKER=aedes' }
        : await startMosquitto()
    if ('skip' in m) {
      console.log(`      ${m.skip}: using the embedded broker (aedes)`)
      broker = await startAedes()
    } else broker = m
    dir = mkdtempSync(join(tmpdir(), 'chanvm-kill-'))
    entry = await bundleChildScript(script, 'killParty')
  })
  after(async () => {
    await broker?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    if (entry !== undefined && entry.file !== script)
      rmSync(dirname(entry.file), { recursive: true, force: true })
  })

  it(`${KILLS} SIGKILLs at random points: no double signature, no lost co-signed state, progress after every restart`, async () => {
    const rng = seeded(SEED)
    const runId = `${SEED}-${process.pid}-${Date.now()}`
    console.log(
      `      kill test: seed ${SEED} (replay: CHANVM_KILL_SEED=${SEED}), ${KILLS} kills, broker ${broker.name}`,
    )
    const { params, channelId, initial } = escrowChannel({
      nonce: BigInt(SEED) * 1_000_000n + BigInt(process.pid),
    })
    const dbs = [join(dir, 'payer.db'), join(dir, 'payee.db')]
    const clientIds = [0, 1].map((i) => `chanvm-kill-${runId}-${i}`)
    const log: string[] = [] // the last things that happened, for a failure message
    const verbose = process.env.CHANVM_KILL_VERBOSE === '1'
    const note = (line: string) => {
      if (verbose) console.log(`      ${new Date().toISOString().slice(11, 23)} ${line}`)
      log.push(`${new Date().toISOString().slice(11, 23)} ${line}`)
      if (log.length > 60) log.shift()
    }
    const fail = (what: string): never => {
      assert.fail(
        `${what}\n  seed ${SEED} (replay: CHANVM_KILL_SEED=${SEED} CHANVM_KILLS=${KILLS})\n  recent:\n    ${log.join('\n    ')}`,
      )
    }

    // What each party told the test: co-signed states it stored (version -> state), signatures it made.
    const acknowledged = [new Map<bigint, string>(), new Map<bigint, string>()]
    const signedDigests = [new Map<bigint, Set<string>>(), new Map<bigint, Set<string>>()]
    let maxCommitted = -1n
    const lastCommitted = [-1n, -1n]

    // A spy on the broker: every state signature on the wire, by signer and version.
    const wire = new Map<string, Set<string>>()
    let wireVerified = 0
    const spy = await mqtt.connectAsync(broker.url, {
      clientId: `chanvm-kill-spy-${runId}`,
      clean: true,
      reconnectPeriod: 200,
    })
    await spy.subscribeAsync(`chanvm/v1/channels/${channelId.toLowerCase()}/to/+`, { qos: 1 })
    spy.on('message', (_topic, payload) => {
      void (async () => {
        let m: { type?: string; version?: string; digest?: Hex; sig?: Hex; sigs?: Hex[] }
        try {
          m = JSON.parse(payload.toString()) as typeof m
        } catch {
          return
        }
        const sigs = m.type === 'accept' ? [m.sig] : m.type === 'commit' ? (m.sigs ?? []) : []
        if (m.digest === undefined || m.version === undefined) return
        for (const sig of sigs) {
          if (sig === undefined) continue
          let signer: Address
          try {
            signer = await recoverAddress({ hash: m.digest, signature: sig })
          } catch {
            continue
          }
          if (!testAddresses.slice(0, 2).some((a) => a.toLowerCase() === signer.toLowerCase())) continue
          wireVerified++
          const k = `${signer.toLowerCase()}@${m.version}`
          const set = wire.get(k) ?? new Set<string>()
          set.add(m.digest.toLowerCase())
          wire.set(k, set)
        }
      })()
    })

    // Warm standbys: processes with their modules loaded, waiting to be told which party to be (a
    // cold start costs seconds of CPU; a restart from a standby is about opening the file and connecting).
    const POOL = 2
    const pool: Promise<ChildProcess>[] = []
    /** Every process forked, so that a standby still starting at the end is killed too. */
    const forked: ChildProcess[] = []
    const fresh = (): Promise<ChildProcess> => {
      const proc = fork(entry.file, [], {
        execArgv: entry.execArgv,
        env: { ...process.env, CHANVM_CRASH_POINT: '' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      forked.push(proc)
      return new Promise((resolve, reject) => {
        proc.once('error', reject)
        proc.once('exit', (code, signal) => reject(new Error(`standby exited (${code ?? signal})`)))
        const onMessage = (m: { standby?: boolean }) => {
          if (m.standby === true) {
            proc.off('message', onMessage)
            proc.removeAllListeners('exit')
            resolve(proc)
          }
        }
        proc.on('message', onMessage)
      })
    }
    const lives: Life[] = []
    const current: (Life | undefined)[] = [undefined, undefined]
    const startLife = async (index: number): Promise<Life> => {
      while (pool.length < POOL + 1) {
        const p = fresh()
        p.catch(() => undefined)
        pool.push(p)
      }
      const proc = await (pool.shift() as Promise<ChildProcess>)
      note(`party ${index}: standby taken`)
      const life: Life = {
        index,
        proc,
        ready: false,
        dead: false,
        steps: new Map(),
        exited: new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal }))),
      }
      void life.exited.then(() => {
        life.dead = true
        for (const done of life.steps.values()) done(undefined)
        life.steps.clear()
      })
      const ready = new Promise<void>((resolve) => {
        proc.on('message', (m: { ready?: boolean; event?: PartyEventJson; stepped?: Stepped }) => {
          if (m.ready === true) {
            life.ready = true
            resolve()
          }
          if (m.stepped !== undefined) {
            life.steps.get(m.stepped.id)?.(m.stepped)
            life.steps.delete(m.stepped.id)
          }
          const e = m.event
          if (e === undefined) return
          if (e.type === 'committed' && e.state !== undefined) {
            const v = BigInt(e.state.version)
            acknowledged[index]?.set(v, stateKey(e.state))
            if (v > maxCommitted) maxCommitted = v
            if (v > (lastCommitted[index] ?? -1n)) lastCommitted[index] = v
            if (verbose) note(`party ${index}: committed ${v}`)
          } else if (e.type === 'signed' && e.version !== undefined && e.digest !== undefined) {
            const v = BigInt(e.version)
            const set = signedDigests[index]?.get(v) ?? new Set<string>()
            set.add(e.digest.toLowerCase())
            signedDigests[index]?.set(v, set)
          } else if (e.type !== 'proposed' && e.type !== 'signed') {
            note(
              `party ${index}: ${e.type} ${e.version ?? e.state?.version ?? ''} ${e.reason ?? ''} ${e.message ?? ''}`.trim(),
            )
          }
        })
      })
      proc.send({
        start: {
          index,
          db: dbs[index],
          url: broker.url,
          clientId: clientIds[index],
          timeoutMs: RESPONSE_TIMEOUT_MS,
          params: paramsToWire(params),
        },
      })
      await Promise.race([ready, life.exited.then(() => fail(`party ${index} died while starting`))])
      lives.push(life)
      current[index] = life
      return life
    }
    const killLife = async (life: Life) => {
      if (!life.dead) life.proc.kill('SIGKILL')
      return life.exited
    }

    // Every co-signed state a party reported must be in its file (read while it is dead).
    const checkFile = async (index: number, when: string) => {
      const store = createSqliteStore({ path: dbs[index] as string })
      try {
        for (const [v, key] of acknowledged[index] ?? []) {
          const s = await store.getSignedState(channelId, v)
          if (s === undefined)
            fail(`party ${index} reported version ${v} committed, but it is not in its file ${when}`)
          else if (stateKey(s.state) !== key)
            fail(`party ${index}'s file holds another state at version ${v} than it reported ${when}`)
        }
      } finally {
        await store.close()
      }
    }

    let done = false
    let seq = 0
    let steps = 0
    const stepOnce = (life: Life): Promise<Stepped | undefined> => {
      const id = ++seq
      return new Promise((resolve) => {
        life.steps.set(id, resolve)
        life.proc.send({ step: id }, (e) => {
          if (e !== null) {
            life.steps.delete(id)
            resolve(undefined)
          }
        })
      })
    }
    // One driver per side: make this party's move whenever its latest state says it is its turn.
    const drive = async (index: number) => {
      while (!done) {
        const life = current[index]
        if (life === undefined || life.dead || !life.ready) {
          await sleep(10)
          continue
        }
        const r = await stepOnce(life)
        if (r?.ok === true) steps++
        else await sleep(r?.reason === 'not-my-turn' ? 5 : 20)
      }
    }

    const [payer, payee] = [await startLife(0), await startLife(1)]
    const opened = (l: Life) =>
      new Promise<void>((r) => l.proc.on('message', (m: { opened?: boolean }) => m.opened === true && r()))
    const bothOpen = Promise.all([opened(payer), opened(payee)])
    for (const l of [payer, payee])
      l.proc.send({ open: { params: paramsToWire(params), state: stateToWire(initial) } })
    await bothOpen
    const drivers = [drive(0), drive(1)]

    const waitProgress = async (index: number, above: bigint, what: string) => {
      const end = Date.now() + PROGRESS_MS
      while ((lastCommitted[index] ?? -1n) <= above) {
        if (Date.now() > end)
          fail(
            `no progress within ${PROGRESS_MS} ms ${what}: party ${index} committed nothing above version ${above} (latest it reported: ${lastCommitted[index]}, highest reported: ${maxCommitted})`,
          )
        if (current[index]?.dead === true) fail(`party ${index} died on its own ${what}`)
        await sleep(10)
      }
    }

    const kinds: Record<string, number> = {}
    let kills = 0
    const t0 = Date.now()
    try {
      await waitProgress(0, 0n, 'after opening')
      await waitProgress(1, 0n, 'after opening')
      while (kills < KILLS) {
        const victim = rng() < 0.5 ? 0 : 1
        const life = current[victim] as Life
        let kind: string
        if (rng() < 0.5) {
          const delay = Math.floor(rng() * 300)
          kind = 'timer'
          note(`kill #${kills + 1}: party ${victim} after ${delay} ms`)
          await sleep(delay)
          await killLife(life)
        } else {
          const point: CrashPoint = {
            method: CRASH_METHODS[Math.floor(rng() * CRASH_METHODS.length)] as CrashPoint['method'],
            phase: rng() < 0.5 ? 'before' : 'after',
            n: 1 + Math.floor(rng() * 2),
          }
          kind = `${point.method}:${point.phase}`
          note(`kill #${kills + 1}: party ${victim} at ${point.method} ${point.phase} #${point.n}`)
          life.proc.send({ arm: point })
          const hit = await Promise.race([life.exited.then(() => true), sleep(5_000).then(() => false)])
          if (!hit) {
            kind = 'timer (point not reached)'
            await killLife(life)
          }
        }
        const exit = await life.exited
        note(`party ${victim} dead (${exit.signal ?? exit.code})`)
        if (exit.signal !== 'SIGKILL')
          fail(`party ${victim} exited with ${exit.code ?? exit.signal}, not by SIGKILL`)
        kills++
        kinds[kind] = (kinds[kind] ?? 0) + 1
        await checkFile(victim, `after kill #${kills}`)
        const above = maxCommitted
        await startLife(victim)
        note(`party ${victim} restarted; highest version reported so far ${above}`)
        await waitProgress(victim, above, `after restart #${kills} of party ${victim}`)
      }
    } finally {
      done = true
      const elapsed = ((Date.now() - t0) / 1000).toFixed(1)
      console.log(
        `      ${kills} kills in ${elapsed} s (${JSON.stringify(kinds)}), ${steps} steps co-signed, highest version ${maxCommitted}`,
      )
      for (const l of current) if (l !== undefined && !l.dead) l.proc.disconnect()
      await Promise.all(current.map((l) => l?.exited))
      await Promise.all(drivers)
      for (const p of forked) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      await spy.endAsync()
    }
    assert.ok(kills >= KILLS)

    // Final checks, on the files of both parties.
    await checkFile(0, 'at the end')
    await checkFile(1, 'at the end')
    const stores = dbs.map((path) => createSqliteStore({ path }))
    try {
      for (let v = 0n; v <= maxCommitted + 1n; v++) {
        const seen = new Map<string, string>() // state key -> where
        const add = (key: string, where: string) =>
          seen.set(key, seen.has(key) ? `${seen.get(key)}, ${where}` : where)
        for (const [i, store] of stores.entries()) {
          const rec = await store.getSignatureRecord(channelId, v)
          if (rec !== undefined) add(stateKey(rec.state), `party ${i}'s signature record`)
          const co = await store.getSignedState(channelId, v)
          if (co !== undefined) add(stateKey(co.state), `party ${i}'s co-signed state`)
        }
        // A co-signed state carries both signatures: any other state one party signed at v is a double signature.
        if (seen.size > 1)
          fail(`version ${v} signed with ${seen.size} different states: ${[...seen.values()].join(' / ')}`)
      }
    } finally {
      for (const s of stores) await s.close()
    }
    for (const [i, byVersion] of signedDigests.entries()) {
      for (const [v, digests] of byVersion) {
        if (digests.size > 1)
          fail(
            `party ${i} reported signing version ${v} with ${digests.size} digests: ${[...digests].join(', ')}`,
          )
      }
    }
    for (const [k, digests] of wire)
      if (digests.size > 1) fail(`on the wire, ${k} carries signatures over ${digests.size} digests`)
    assert.ok(wireVerified > 0, 'the spy saw state signatures on the wire')
    assert.ok(
      maxCommitted >= BigInt(KILLS),
      `the channel advanced (${maxCommitted} versions for ${KILLS} kills)`,
    )
  })
})
