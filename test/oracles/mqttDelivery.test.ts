// Delivery guarantees of the MQTT adapters: a QoS 1 message is acknowledged only after the
// handler's promise resolved, nothing is acknowledged without a handler, messages are handed over
// in order (the next before the one in hand is handled), and QoS 1
// messages in flight survive a broker restart or SIGKILL.
import { strict as assert } from 'node:assert'
import type { Address, Hex } from 'viem'
import type { PeerMessage } from '../../engine/transport/types.ts'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { connectMqtt } from '../../oracles/mqtt/connectMqtt.ts'
import { defaultInputClientId } from '../../oracles/mqtt/createMqttInputSource.ts'
import { createMqttTransport, type MqttTransport } from '../../oracles/mqtt/createMqttTransport.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { testAddresses } from '../support/channel.ts'
import {
  brokerOrSkip,
  startAedes,
  startMosquitto,
  startRestartableMosquitto,
  type RestartableMosquitto,
  type TestBroker,
} from './brokers.ts'
import { CHAIN, validReading } from './hostile.ts'
import { anyDeviceSource } from './knownDeviceSource.ts'

const [alice, bob] = testAddresses as [Address, Address]
const channelId = `0x${'ab'.repeat(32)}` as Hex
const accept = (version: number): PeerMessage => ({
  type: 'accept',
  channelId,
  from: alice,
  version: String(version),
  digest: `0x${'11'.repeat(32)}`,
  sig: `0x${'22'.repeat(65)}`,
})
const versionOf = (m: PeerMessage) => Number((m as { version: string }).version)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(what: string, f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
let serial = 0
const uniqueId = (who: string) => `chanvm-test-${who}-${process.pid}-${Date.now()}-${serial++}`

function deliverySuite(name: string, start: () => Promise<TestBroker | { skip: string }>): void {
  describe(`MQTT acknowledgement after the handler on ${name}`, function () {
    this.timeout(60_000)
    let broker: TestBroker
    const open: MqttTransport[] = []
    const connect = async (self: Address, clientId: string) => {
      const t = await createMqttTransport({
        url: broker.url,
        self,
        clientId,
        clean: false,
        minBackoffMs: 50,
        maxBackoffMs: 500,
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

    it('a message whose handler has not resolved is not acknowledged: the broker sends it again; once resolved, never again', async () => {
      const sender = await connect(alice, uniqueId('alice'))
      const cid = uniqueId('bob')
      const first = await connect(bob, cid)
      const seen: number[] = []
      first.onMessage((m) => {
        seen.push(versionOf(m))
        return new Promise<void>(() => {}) // never stored
      })
      await sender.send(bob, accept(1))
      await until('the first delivery', () => seen.length === 1)
      await first.close()

      const second = await connect(bob, cid)
      const again: number[] = []
      second.onMessage(async (m) => {
        again.push(versionOf(m))
      })
      await until('the redelivery', () => again.length === 1)
      assert.deepEqual(again, [1])
      await sleep(100) // the PUBACK is on its way
      await second.close()

      const third = await connect(bob, cid)
      const later: number[] = []
      third.onMessage(async (m) => {
        later.push(versionOf(m))
      })
      await sender.send(bob, accept(2))
      await until('the next message', () => later.includes(2))
      assert.deepEqual(later, [2], 'the acknowledged message did not come back')
    })

    it('a message whose handler rejects is not acknowledged, and later messages still arrive', async () => {
      const sender = await connect(alice, uniqueId('alice'))
      const cid = uniqueId('bob')
      const first = await connect(bob, cid)
      const seen: number[] = []
      first.onMessage(async (m) => {
        seen.push(versionOf(m))
        if (versionOf(m) === 1) throw new Error('disk full')
      })
      await sender.send(bob, accept(1))
      await sender.send(bob, accept(2))
      await until('both deliveries', () => seen.length === 2)
      await first.close()

      const second = await connect(bob, cid)
      const again: number[] = []
      second.onMessage(async (m) => {
        again.push(versionOf(m))
      })
      await until('the redelivery', () => again.length >= 1)
      await sleep(200)
      assert.deepEqual(again, [1], 'only the message whose handler rejected comes back')
    })

    it("messages whose handler rejected come again without the application reconnecting, past the broker's in-flight window", async () => {
      const sender = await connect(alice, uniqueId('alice'))
      const receiver = await connect(bob, uniqueId('bob'))
      const attempts = new Map<number, number>()
      const stored = new Set<number>()
      receiver.onMessage(async (m) => {
        const v = versionOf(m)
        const n = (attempts.get(v) ?? 0) + 1
        attempts.set(v, n)
        if (n === 1) throw new Error('store busy') // the first attempt of every message fails
        stored.add(v)
      })
      for (let i = 0; i < 25; i++) await sender.send(bob, accept(i))
      await until('all 25 stored', () => stored.size === 25, 45_000)
    })

    it('a reading whose input handler failed comes again and is accepted, not dropped as a duplicate', async () => {
      const source = await anyDeviceSource({
        url: broker.url,
        clientId: uniqueId('inputs'),
        minBackoffMs: 50,
        maxBackoffMs: 400,
      })
      const device = await connectMqtt({ url: broker.url, clientId: uniqueId('device') })
      try {
        let calls = 0
        const stored: bigint[] = []
        source.onInput(async (input) => {
          if (++calls === 1) throw new Error('database locked')
          stored.push(input.sequence)
        })
        const r = validReading('secp256k1')
        await device.client.publishAsync(readingTopic(r.device as Hex), JSON.stringify(r), { qos: 1 })
        await until('the reading stored', () => stored.length === 1, 20_000)
        assert.deepEqual(stored, [BigInt(r.sequence)])
        assert.equal(source.stats().rejected.duplicate, 0)
      } finally {
        await device.close()
        await source.close()
      }
    })

    it('a message that arrives while no handler is registered waits unacknowledged, and is handed over on registration', async () => {
      const sender = await connect(alice, uniqueId('alice'))
      const cid = uniqueId('bob')
      const first = await connect(bob, cid)
      await sender.send(bob, accept(1))
      await sleep(200) // delivered to the transport, held without a handler
      await first.close()

      const second = await connect(bob, cid)
      await sleep(200)
      const got: number[] = []
      second.onMessage(async (m) => {
        got.push(versionOf(m))
      })
      await until('the held message', () => got.length === 1)
      assert.deepEqual(got, [1])
    })

    it('a handler that sends and waits for its send does not block its own connection', async () => {
      const a = await connect(alice, uniqueId('alice'))
      const b = await connect(bob, uniqueId('bob'))
      const replies: number[] = []
      a.onMessage(async (m) => {
        replies.push(versionOf(m))
      })
      b.onMessage(async (m) => {
        await b.send(alice, accept(versionOf(m) + 100))
      })
      for (let i = 0; i < 5; i++) await a.send(bob, accept(i))
      await until('5 replies', () => replies.length === 5, 15_000)
      assert.deepEqual(replies, [100, 101, 102, 103, 104])
    })

    it('hands messages over in the order they were sent, the next before the one in hand is handled', async () => {
      const sender = await connect(alice, uniqueId('alice'))
      const receiver = await connect(bob, uniqueId('bob'))
      const got: number[] = []
      let releaseFirst: () => void = () => undefined
      const firstHeld = new Promise<void>((r) => (releaseFirst = r))
      receiver.onMessage(async (m) => {
        got.push(versionOf(m))
        // The first stays in hand while the others arrive (fewer than Mosquitto's in-flight window
        // of 20, which holds the rest back until the first is acknowledged).
        if (versionOf(m) === 0) await firstHeld
      })
      await Promise.all(Array.from({ length: 12 }, (_, i) => sender.send(bob, accept(i))))
      await until('12 messages while the first is in hand', () => got.length === 12)
      releaseFirst()
      assert.deepEqual(
        got,
        Array.from({ length: 12 }, (_, i) => i),
      )
    })
  })
}

deliverySuite('the embedded broker (aedes)', startAedes)
deliverySuite('Mosquitto', startMosquitto)

describe('MQTT across a Mosquitto restart and SIGKILL', function () {
  this.timeout(120_000)
  let broker: RestartableMosquitto
  before(async function () {
    broker = await brokerOrSkip(this, startRestartableMosquitto())
  })
  after(async () => {
    await broker?.stop()
  })

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`peer messages sent at QoS 1 while the broker is stopped with ${signal} and started again: none lost`, async () => {
      const opts = { url: broker.url, clean: false, minBackoffMs: 50, maxBackoffMs: 400 }
      const sender = await createMqttTransport({ ...opts, self: alice, clientId: uniqueId('alice') })
      const receiver = await createMqttTransport({ ...opts, self: bob, clientId: uniqueId('bob') })
      try {
        const got = new Set<number>()
        receiver.onMessage(async (m) => {
          got.add(versionOf(m))
        })
        const total = 400
        const sends: Promise<void>[] = []
        let restarted: Promise<void> | undefined
        for (let i = 0; i < total; i++) {
          // Mosquitto acknowledges a message before it saves it: one it acknowledged in the moment
          // before a SIGKILL goes with its memory, whatever the client does. The kill comes after
          // a pause in which the broker delivers or saves what it acknowledged; what is sent while
          // it is killed, down and starting again is the clients' to keep, and none may be lost.
          if (i === 150 && signal === 'SIGKILL') await sleep(100)
          sends.push(sender.send(bob, accept(i)))
          if (i === 150) restarted = broker.restart(signal, 500)
          await sleep(3)
        }
        await restarted
        await Promise.all(sends)
        await until(`all ${total} messages`, () => got.size === total, 30_000).catch(() => undefined)
        const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !got.has(i))
        assert.deepEqual(missing, [], `${missing.length} of ${total} messages lost across the ${signal}`)
      } finally {
        await sender.close()
        await receiver.close()
      }
    })

    it(`readings published at QoS 1 across a ${signal} of the broker reach a persistent input source: none lost`, async () => {
      const device = await connectMqtt({
        url: broker.url,
        clientId: uniqueId('device'),
        minBackoffMs: 50,
        maxBackoffMs: 400,
      })
      const source = await anyDeviceSource({
        url: broker.url,
        clientId: uniqueId('inputs'),
        minBackoffMs: 50,
        maxBackoffMs: 400,
      })
      try {
        const got = new Set<bigint>()
        source.onInput(async (input: VerifiedInput) => {
          got.add(input.sequence)
        })
        const readings = Array.from({ length: 200 }, () => validReading('secp256k1'))
        const sends: Promise<unknown>[] = []
        let restarted: Promise<void> | undefined
        for (const [i, r] of readings.entries()) {
          sends.push(device.client.publishAsync(readingTopic(r.device as Hex), JSON.stringify(r), { qos: 1 }))
          if (i === 80) restarted = broker.restart(signal, 500)
          await sleep(3)
        }
        await restarted
        await Promise.all(sends)
        await until('every reading', () => got.size === readings.length, 30_000).catch(() => undefined)
        const missing = readings.filter((r) => !got.has(BigInt(r.sequence))).length
        assert.equal(
          missing,
          0,
          `${missing} of ${readings.length} readings lost across the ${signal}: ${JSON.stringify(source.stats())}`,
        )
      } finally {
        await device.close()
        await source.close()
      }
    })
  }

  it('close() does not wait for a broker that is down; a publish still in flight fails instead of hanging', async () => {
    const sender = await connectMqtt({
      url: broker.url,
      clientId: uniqueId('device'),
      minBackoffMs: 50,
      maxBackoffMs: 400,
    })
    const down = broker.restart('SIGKILL', 3_000) // down for 3 s
    await sleep(200)
    const pending = sender.client.publishAsync('chanvm/v1/test', 'x', { qos: 1 })
    const t0 = Date.now()
    await sender.close()
    assert.ok(Date.now() - t0 < 2_500, `close took ${Date.now() - t0} ms`)
    await assert.rejects(pending)
    await down
  })

  it('without a client id an input source still has a persistent session: a restarted one delivers the backlog', async () => {
    const readings = Array.from({ length: 3 }, () => validReading('secp256k1'))
    const topic = readingTopic(readings[0]!.device as Hex)
    const make = () =>
      anyDeviceSource({
        url: broker.url,
        topics: [topic],
      })
    const first = await make()
    await first.close()
    const device = await connectMqtt({ url: broker.url, clientId: uniqueId('device') })
    for (const r of readings) await device.client.publishAsync(topic, JSON.stringify(r), { qos: 1 })
    await device.close()
    const again = await make()
    try {
      const got: bigint[] = []
      again.onInput((input) => {
        got.push(input.sequence)
      })
      await until('the backlog', () => got.length === readings.length)
      assert.deepEqual(got.sort(), readings.map((r) => BigInt(r.sequence)).sort())
    } finally {
      await again.close()
      // Leave no session behind on a shared broker.
      const id = defaultInputClientId(CHAIN, [topic])
      await (await connectMqtt({ url: broker.url, clientId: id, clean: true })).close()
    }
  })

  it('a restarted input source with a persistent session delivers the backlog published while it was away', async () => {
    const clientId = uniqueId('inputs')
    const make = () =>
      anyDeviceSource({
        url: broker.url,
        clientId,
      })
    const first = await make()
    await first.close()
    const device = await connectMqtt({ url: broker.url, clientId: uniqueId('device') })
    const readings = Array.from({ length: 5 }, () => validReading('p256'))
    for (const r of readings)
      await device.client.publishAsync(readingTopic(r.device as Hex), JSON.stringify(r), { qos: 1 })
    await device.close()
    const again = await make()
    try {
      await sleep(300) // the backlog arrives before the handler is registered, and waits for it
      const got: string[] = []
      again.onInput((input) => {
        got.push(input.signer)
      })
      await until('the backlog', () => got.length === readings.length)
      assert.deepEqual(new Set(got), new Set(readings.map((r) => r.device)))
      assert.equal(again.stats().accepted, readings.length)
    } finally {
      await again.close()
    }
  })
})
