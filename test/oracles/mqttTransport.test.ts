import { strict as assert } from 'node:assert'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Address, Hex } from 'viem'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { paramsToWire, stateToWire } from '../../engine/channel/wire.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import type { Party, PartyOptions, ProposedStep } from '../../engine/protocol/types.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import {
  createMqttTransport,
  PEER_ACK_HOLD_MS,
  type MqttTransport,
} from '../../oracles/mqtt/createMqttTransport.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { brokerOrSkip, startAedes, startMosquitto, type TestBroker } from './brokers.ts'
import { connectClient } from './knownDeviceSource.ts'
import { waitFor } from './waitFor.ts'

const [alice, bob, carol] = testAddresses as [Address, Address, Address]
const channelId = `0x${'ab'.repeat(32)}` as Hex
const accept = (from: Address, version: string): PeerMessage => ({
  type: 'accept',
  channelId,
  from,
  version,
  digest: `0x${'11'.repeat(32)}`,
  sig: `0x${'22'.repeat(65)}`,
})
const script = fileURLToPath(new URL('./support/mqttPartyProcess.ts', import.meta.url))

function transportSuite(name: string, start: () => Promise<TestBroker | { skip: string }>): void {
  describe(`MQTT peer transport on ${name}`, function () {
    let broker: TestBroker
    const open: MqttTransport[] = []
    /** Both parties of one channel pair, each on a clean session of its own, in memory otherwise. */
    const startParties = (label: string, options: (i: 0 | 1) => Partial<PartyOptions>) =>
      Promise.all(
        ([0, 1] as const).map(async (i) => {
          const transport = await createMqttTransport({
            url: broker.url,
            self: testAddresses[i]!,
            clean: true,
            clientId: `${label}-${i}-${process.pid}-${Date.now()}`,
          })
          open.push(transport)
          return createParty({
            signer: createKeySigner(testKeys[i]!),
            transport,
            store: createMemoryStore(),
            sandbox: await createSandbox(),
            apps: [escrowApp],
            clock: () => fixedEnv,
            responseTimeoutMs: 5_000,
            ...options(i),
          })
        }),
      )
    const connect = async (self: Address, opts: { clean?: boolean } = {}) => {
      const t = await createMqttTransport({
        url: broker.url,
        self,
        clean: opts.clean ?? true,
        clientId: `test-${self}-${open.length}-${process.pid}`,
      })
      open.push(t)
      return t
    }
    before(async function () {
      broker = await brokerOrSkip(this, start())
    })
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close()
    })
    after(async () => {
      await broker?.stop()
    })

    it('delivers a message to its addressee only, as a copy, on the per-channel topic', async () => {
      const a = await connect(alice)
      const b = await connect(bob)
      const c = await connect(carol)
      const toCarol: PeerMessage[] = []
      c.onMessage((m) => {
        toCarol.push(m)
      })
      const got = waitFor<PeerMessage>(
        (cb) => b.onMessage(cb),
        () => true,
        30_000,
        'a peer message',
      )
      const sent = accept(alice, '7')
      await a.send(bob, sent)
      assert.deepEqual(await got, sent)
      // A round trip to carol proves she has seen everything sent before: nothing for her earlier.
      const mine = waitFor<PeerMessage>(
        (cb) => c.onMessage(cb),
        () => true,
        30_000,
        "carol's message",
      )
      await a.send(carol, accept(alice, '8'))
      assert.equal((await mine).type, 'accept')
      assert.deepEqual(
        toCarol.map((m) => (m as { version: string }).version),
        ['8'],
      )
    })

    it('drops what is not a peer message for the channel of its topic, and keeps delivering', async () => {
      const b = await connect(bob)
      const raw = await connectClient(broker.url)
      try {
        const topic = `chanvm/v1/channels/${channelId}/to/${bob.toLowerCase()}`
        const got = waitFor<PeerMessage>(
          (cb) => b.onMessage(cb),
          () => true,
          30_000,
          'the good message',
        )
        await raw.publishAsync(topic, 'not json', { qos: 1 })
        await raw.publishAsync(topic, JSON.stringify({ type: 'hello', channelId }), { qos: 1 })
        await raw.publishAsync(
          topic,
          JSON.stringify({ ...accept(alice, '1'), channelId: `0x${'cd'.repeat(32)}` }),
          { qos: 1 },
        )
        await raw.publishAsync(topic, Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 })
        await raw.publishAsync(topic, JSON.stringify(accept(alice, '2')), { qos: 1 })
        assert.equal(((await got) as { version: string }).version, '2')
        assert.equal(b.dropped(), 4)
      } finally {
        await raw.endAsync()
      }
    })

    it('with a persistent session, messages sent while the receiver is down arrive when it is back', async () => {
      const a = await connect(alice)
      const clientId = `persist-${bob}-${process.pid}-${Date.now()}`
      const first = await createMqttTransport({ url: broker.url, self: bob, clientId, clean: false })
      await first.close()
      await a.send(bob, accept(alice, '41'))
      const again = await createMqttTransport({ url: broker.url, self: bob, clientId, clean: false })
      open.push(again)
      const got = await waitFor<PeerMessage>(
        (cb) => again.onMessage(cb),
        () => true,
        30_000,
        'the queued message',
      )
      assert.equal((got as { version: string }).version, '41')
    })

    it('messages for channels a party does not hold are acknowledged and dropped: they never hold up its channel', async () => {
      // More than Mosquitto's in-flight window (20): left unacknowledged they would stall the party.
      const ch = escrowChannel({ nonce: 91n })
      const parties = await startParties('poison', () => ({}))
      const [payer, payee] = parties as [Party, Party]
      try {
        await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
        for (const p of parties) assert.ok((await p.confirmFunding(ch.channelId, ch.initial.balances)).ok)
        const raw = await connectClient(broker.url)
        try {
          for (let i = 0; i < 40; i++) {
            const unknown = `0x${i.toString(16).padStart(64, 'e')}` as Hex
            const m = { ...accept(alice, '1'), channelId: unknown }
            await raw.publishAsync(
              `chanvm/v1/channels/${unknown}/to/${bob.toLowerCase()}`,
              JSON.stringify(m),
              { qos: 1 },
            )
          }
        } finally {
          await raw.endAsync()
        }
        await waitFor<void>(
          (cb) => {
            const t = setInterval(() => (payee.stats()['unknown-channel'] ?? 0) >= 40 && cb(), 20)
            return () => clearInterval(t)
          },
          () => true,
          30_000,
          'the forty unknown-channel messages',
        )
        const step = await payer.update(ch.channelId, escrowActions.fund(10n, fixedEnv.timestamp + 3_600n))
        assert.ok(step.ok, step.ok ? '' : step.reason)
        assert.equal((await payee.waitForVersion(ch.channelId, 1n, 10_000)).state.version, 1n)
        assert.equal(payee.stats()['unknown-channel'], 40)
      } finally {
        for (const p of parties) await p.close()
      }
    })

    it('a proposal still being handled on one channel does not hold up a step on another', async () => {
      // The payee's policy keeps the first channel's proposal pending until the second channel's
      // step is co-signed: the transport must hand the second channel's messages over meanwhile.
      const slow = escrowChannel({ nonce: 92n })
      const fast = escrowChannel({ nonce: 93n })
      let releaseSlow: () => void = () => undefined
      const slowHeld = new Promise<boolean>((r) => (releaseSlow = () => r(true)))
      let slowAsked = false
      const parties = await startParties('parallel', (i) => ({
        responseTimeoutMs: 10_000,
        ...(i === 1
          ? {
              approve: (step: ProposedStep) => {
                if (step.channelId.toLowerCase() !== slow.channelId.toLowerCase()) return true
                slowAsked = true
                return slowHeld
              },
            }
          : {}),
      }))
      const [payer, payee] = parties as [Party, Party]
      try {
        for (const ch of [slow, fast]) {
          await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
          for (const p of parties) assert.ok((await p.confirmFunding(ch.channelId, ch.initial.balances)).ok)
        }
        const fund = escrowActions.fund(10n, fixedEnv.timestamp + 3_600n)
        const slowStep = payer.update(slow.channelId, fund)
        await waitFor<void>(
          (cb) => {
            const t = setInterval(() => slowAsked && cb(), 10)
            return () => clearInterval(t)
          },
          () => true,
          10_000,
          "the payee's policy asked about the first channel",
        )
        const fastStep = await payer.update(fast.channelId, fund)
        assert.ok(fastStep.ok, fastStep.ok ? '' : fastStep.reason)
        assert.equal((await payee.waitForVersion(fast.channelId, 1n, 10_000)).state.version, 1n)
        assert.equal(
          (await payee.latest(slow.channelId))?.state.version,
          0n,
          'the first channel is still held',
        )
        releaseSlow()
        const done = await slowStep
        assert.ok(done.ok, done.ok ? '' : done.reason)
      } finally {
        releaseSlow()
        for (const p of parties) await p.close()
      }
    })

    it('what several callbacks of one event-loop turn send leaves in one write to the broker', async () => {
      const a = await connect(alice)
      const b = await connect(bob)
      const got: string[] = []
      const both = waitFor<PeerMessage>(
        (cb) => b.onMessage(cb),
        (m) => got.push((m as { version: string }).version) === 2,
        30_000,
        'both messages',
      )
      // Socket writes towards the broker (client side: its remote port is the broker's) while
      // two timers of the same turn each send one message.
      const port = Number(new URL(broker.url).port)
      const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>
      const original = { _write: proto._write, _writev: proto._writev }
      let writes = 0
      for (const key of ['_write', '_writev'] as const)
        proto[key] = function (this: Socket, ...args: unknown[]) {
          if (this.remotePort === port) writes++
          return original[key].apply(this, args)
        }
      try {
        await new Promise<void>((resolve, reject) => {
          let sent = 0
          for (const v of ['1', '2'])
            setTimeout(() => {
              a.send(bob, accept(alice, v)).then(() => ++sent === 2 && resolve(), reject)
            }, 0)
        })
        await new Promise((r) => setImmediate(r))
        await new Promise((r) => setImmediate(r))
      } finally {
        Object.assign(proto, original)
      }
      assert.equal(writes, 1)
      await both
      assert.deepEqual(got, ['1', '2'])
    })

    it('the PUBACK of a message goes along with the next message sent, in one write', async () => {
      const a = await connect(alice)
      const b = await connect(bob)
      const port = Number(new URL(broker.url).port)
      const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>
      const original = { _write: proto._write, _writev: proto._writev }
      let writes = 0
      let counting = false
      for (const key of ['_write', '_writev'] as const)
        proto[key] = function (this: Socket, ...args: unknown[]) {
          if (counting && this.remotePort === port) writes++
          return original[key].apply(this, args)
        }
      const replied = waitFor<PeerMessage>(
        (cb) => b.onMessage(cb),
        () => true,
        30_000,
        "alice's reply",
      )
      try {
        // Alice's handler resolves at once (its PUBACK is due); she answers 3 ms later.
        const answered = new Promise<void>((resolve, reject) => {
          a.onMessage(() => {
            counting = true
            setTimeout(() => {
              a.send(bob, accept(alice, '2'))
                .then(() => new Promise((r) => setImmediate(r)))
                .then(() => new Promise((r) => setImmediate(r)))
                .then(() => resolve(), reject)
            }, 3)
          })
        })
        await b.send(alice, accept(bob, '1'))
        await answered
      } finally {
        Object.assign(proto, original)
      }
      assert.equal(writes, 1)
      assert.equal(((await replied) as { version: string }).version, '2')
    })

    it('a PUBACK with no message sent after it leaves on its own within PEER_ACK_HOLD_MS', async () => {
      const a = await connect(alice)
      const b = await connect(bob)
      const port = Number(new URL(broker.url).port)
      const proto = Socket.prototype as unknown as Record<'_write', (...a: unknown[]) => unknown>
      const original = proto._write
      const written: { at: number; bytes: Buffer }[] = []
      let handledAt = 0
      proto._write = function (this: Socket, ...args: unknown[]) {
        if (handledAt > 0 && this.remotePort === port)
          written.push({ at: performance.now(), bytes: Buffer.from(args[0] as Buffer) })
        return original.apply(this, args)
      }
      try {
        const handled = new Promise<void>((resolve) =>
          a.onMessage(() => {
            handledAt = performance.now()
            resolve()
          }),
        )
        await b.send(alice, accept(bob, '1'))
        await handled
        // The acknowledgement, then as long again for any other write to follow it.
        const deadline = performance.now() + 10_000
        while (written.length === 0 && performance.now() < deadline)
          await new Promise((r) => setTimeout(r, 5))
        await new Promise((r) => setTimeout(r, PEER_ACK_HOLD_MS * 20))
      } finally {
        proto._write = original
      }
      assert.equal(written.length, 1)
      const [ack] = written as [{ at: number; bytes: Buffer }]
      // PUBACK (0x40, remaining length 2, packet id), alone.
      assert.deepEqual([ack.bytes.length, ack.bytes[0], ack.bytes[1]], [4, 0x40, 2])
      // Held for good, it would never leave (no message follows it); a timer of PEER_ACK_HOLD_MS
      // fires late on a loaded machine, so the bound is a second, not a multiple of the hold.
      assert.ok(ack.at - handledAt < 1_000, `the PUBACK left ${ack.at - handledAt} ms after`)
    })

    it('a handler that returns null, not a promise, has its message acknowledged; delivery goes on', async () => {
      const a = await connect(alice)
      const b = await connect(bob)
      const versions: string[] = []
      const both = new Promise<void>((resolve) =>
        b.onMessage(((m: PeerMessage) => {
          if (versions.push((m as { version: string }).version) === 2) resolve()
          return null
        }) as unknown as (m: PeerMessage) => void),
      )
      await a.send(bob, accept(alice, '1'))
      await a.send(bob, accept(alice, '2'))
      await both
      assert.deepEqual(versions, ['1', '2'])
    })

    it('send after close throws TRANSPORT_CLOSED', async () => {
      const a = await connect(alice)
      await a.close()
      await assert.rejects(
        a.send(bob, accept(alice, '1')),
        (e: Error & { code?: string }) => e.code === 'TRANSPORT_CLOSED',
      )
    })
  })
}

transportSuite('the embedded broker (aedes)', startAedes)
transportSuite('Mosquitto', startMosquitto)

type Child = {
  proc: ChildProcess
  events: { type: string; version?: string; state?: { version: string } }[]
  exited: Promise<unknown>
}

function startChild(url: string, db: string): Promise<Child> {
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, CHANVM_BROKER_URL: url, CHANVM_DB: db, CHANVM_PARTY_INDEX: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const events: Child['events'] = []
  const exited = new Promise((res) => proc.on('exit', res))
  return new Promise((resolve, reject) => {
    proc.on('error', reject)
    proc.on('exit', (code) => reject(new Error(`party process exited early (${code})`)))
    proc.on('message', (m: { ready?: boolean; event?: Child['events'][number] }) => {
      if (m.ready === true) resolve({ proc, events, exited })
      if (m.event !== undefined) events.push(m.event)
    })
  })
}
const committed = (c: Child) =>
  c.events.filter((e) => e.type === 'committed').map((e) => BigInt(e.state?.version ?? -1))

describe('two parties in two processes over the broker', function () {
  this.timeout(120_000)
  let broker: TestBroker
  let dir: string
  before(async () => {
    broker = await startAedes()
    dir = mkdtempSync(join(tmpdir(), 'chanvm-mqtt-parties-'))
  })
  after(async () => {
    await broker?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('co-sign updates through MQTT; the other party, killed and restarted mid-stream, picks up from its store', async () => {
    const { params, initial } = escrowChannel({ nonce: BigInt(process.pid) })
    const id = initial.channelId
    const deadline = fixedEnv.timestamp + 3_600n
    const payeeDb = join(dir, 'payee.db')
    let child = await startChild(broker.url, payeeDb)
    const transport = await createMqttTransport({
      url: broker.url,
      self: alice,
      minBackoffMs: 50,
      maxBackoffMs: 500,
    })
    const store = createSqliteStore({ path: join(dir, 'payer.db') })
    const payer = await createParty({
      signer: createKeySigner(testKeys[0] as Hex),
      transport,
      store,
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock: () => fixedEnv,
      responseTimeoutMs: 60_000,
      requireFunding: false,
    })
    try {
      child.proc.send({ open: { params: paramsToWire(params), state: stateToWire(initial) } })
      await payer.open(params, initial)
      for (const action of [escrowActions.fund(400n, deadline), escrowActions.release()]) {
        const r = await payer.update(id, action, { env: fixedEnv })
        assert.equal(
          r.ok,
          true,
          r.ok ? '' : JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
        )
      }
      // Wait until the payee has stored version 2 too, then kill it without warning.
      while (!committed(child).includes(2n)) await new Promise((r) => setTimeout(r, 20))
      child.proc.kill('SIGKILL')
      await child.exited

      // The payer proposes version 3 while the payee is down; the broker keeps it for the payee's
      // persistent session, and the restarted payee answers from its store.
      const pending = payer.update(id, escrowActions.fund(250n, deadline), { env: fixedEnv })
      child = await startChild(broker.url, payeeDb)
      const r3 = await pending
      assert.equal(
        r3.ok,
        true,
        r3.ok ? '' : JSON.stringify(r3, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
      )
      const r4 = await payer.update(id, escrowActions.release(), { env: fixedEnv })
      assert.equal(r4.ok, true)
      const latest = await payer.latest(id)
      assert.equal(latest?.state.version, 4n)
      assert.deepEqual(latest?.state.balances, [1_000n - 400n - 250n, 650n])
      while (!committed(child).includes(4n)) await new Promise((r) => setTimeout(r, 20))
      assert.deepEqual(
        committed(child),
        [3n, 4n],
        'the restarted payee continued at version 3, from its store',
      )
    } finally {
      child.proc.disconnect()
      await child.exited
      await payer.close()
      await transport.close()
      await store.close()
    }
  })
})
