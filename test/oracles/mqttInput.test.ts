import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import fc from 'fast-check'
import mqtt from 'mqtt'
import { keccak256, toHex, type Hex } from 'viem'
import type { InputRejection, InputRejectionEvent, VerifiedInput } from '../../engine/inputs/types.ts'
import { createMqttInputSource, type MqttInputSource } from '../../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { startEmbeddedBroker } from '../../oracles/mqtt/startEmbeddedBroker.ts'
import { brokerOrSkip, mosquittoPub, startAedes, startMosquitto, type TestBroker } from './brokers.ts'
import { CHAIN, hostileCaseArb, knownOracles, NOW_MS, validAnswer, validReading } from './hostile.ts'
import { anyDeviceSource, connectClient, knownDeviceSource } from './knownDeviceSource.ts'
import { waitFor } from './waitFor.ts'

const run = promisify(execFile)

async function source(url: string): Promise<MqttInputSource> {
  return knownDeviceSource(url, { oracles: knownOracles })
}
const nextInput = (s: MqttInputSource, pred: (i: VerifiedInput) => boolean = () => true) =>
  waitFor<VerifiedInput>((cb) => s.onInput(cb), pred, 30_000, 'an accepted input')
const nextRejection = (s: MqttInputSource, reason: InputRejection) =>
  waitFor<InputRejectionEvent>(
    (cb) => s.onRejection(cb),
    (r) => r.reason === reason,
    30_000,
    `a ${reason} rejection`,
  )
const total = (s: MqttInputSource) => {
  const st = s.stats()
  return st.accepted + Object.values(st.rejected).reduce((a, b) => a + b, 0)
}

function inputSourceSuite(name: string, start: () => Promise<TestBroker | { skip: string }>): void {
  describe(`MQTT input source on ${name}`, function () {
    let broker: TestBroker
    let publisher: mqtt.MqttClient
    let src: MqttInputSource | undefined

    before(async function () {
      broker = await brokerOrSkip(this, start())
      publisher = await connectClient(broker.url)
    })
    after(async () => {
      await publisher?.endAsync()
      await broker?.stop()
    })
    afterEach(async () => {
      await src?.close()
      src = undefined
    })

    it('accepts a signed secp256k1 reading, a P-256 reading and an answer, with what an app action needs', async () => {
      src = await source(broker.url)
      for (const curve of ['secp256k1', 'p256'] as const) {
        const e = validReading(curve, { value: -18_250n })
        const got = nextInput(src, (i) => i.signer === e.device)
        await publisher.publishAsync(readingTopic(e.device as Hex), JSON.stringify(e), { qos: 1 })
        const input = await got
        assert.equal(input.kind, 'reading')
        assert.equal(input.curve, curve)
        assert.equal(input.sequence, BigInt(e.sequence))
        assert.equal(input.message.value, -18_250n)
        assert.equal(input.publicKey, curve === 'p256' ? e.publicKey : undefined)
        assert.equal(input.chainId, CHAIN)
      }
      const a = validAnswer(keccak256(toHex(`TRACK-${broker.port}`)))
      const got = nextInput(src, (i) => i.kind === 'answer')
      await publisher.publishAsync(a.topic, a.payload, { qos: 1 })
      assert.equal((await got).signer, knownOracles[0])
      assert.equal(src.stats().accepted, 3)
    })

    it('a QoS 1 duplicate is dropped as duplicate; stale and malformed messages get their reason', async () => {
      src = await source(broker.url)
      const e = validReading('p256')
      const topic = readingTopic(e.device as Hex)
      const accepted = nextInput(src)
      await publisher.publishAsync(topic, JSON.stringify(e), { qos: 1 })
      await accepted
      const dup = nextRejection(src, 'duplicate')
      await publisher.publishAsync(topic, JSON.stringify(e), { qos: 1 })
      await dup
      const bad = nextRejection(src, 'schema')
      await publisher.publishAsync(topic, '{"v":1,"type":"reading","extra":true}', { qos: 1 })
      assert.match((await bad).detail, /schema/)
      const stale = nextRejection(src, 'stale')
      await publisher.publishAsync(
        topic,
        JSON.stringify(validReading('p256', { timestamp: BigInt(NOW_MS / 1000) - 3_600n })),
        { qos: 1 },
      )
      await stale
      assert.deepEqual(
        Object.entries(src.stats().rejected).filter(([, n]) => n > 0),
        [
          ['schema', 1],
          ['stale', 1],
          ['duplicate', 1],
        ],
      )
    })

    it('a retained message is never fresh evidence, even when it is valid', async () => {
      const e = validReading('secp256k1')
      const topic = readingTopic(e.device as Hex)
      await publisher.publishAsync(topic, JSON.stringify(e), { qos: 1, retain: true })
      try {
        const s = await knownDeviceSource(broker.url, { topics: [topic] })
        src = s
        // The retained copy arrives on subscribe; it may already be counted by the time we look.
        if (s.stats().rejected.retained === 0) await nextRejection(s, 'retained')
        assert.equal(s.stats().accepted, 0)
        // The same message published live (not retained) is fresh.
        const got = nextInput(s)
        await publisher.publishAsync(topic, JSON.stringify(e), { qos: 1 })
        assert.equal((await got).sequence, BigInt(e.sequence))
      } finally {
        await publisher.publishAsync(topic, '', { qos: 1, retain: true }) // clear it
      }
    })

    it('hundreds of hostile payloads through the broker: each counted under its reason, and the source keeps working', async () => {
      src = await source(broker.url)
      const cases = fc.sample(hostileCaseArb(), { numRuns: 300, seed: broker.port })
      const expected: Record<string, number> = {}
      for (const c of cases) expected[c.expect] = (expected[c.expect] ?? 0) + 1
      const s = src
      const done = waitFor<unknown>(
        (cb) => {
          const a = s.onInput(cb)
          const b = s.onRejection(cb)
          return () => {
            a()
            b()
          }
        },
        () => total(s) >= cases.length,
        60_000,
        'every hostile payload',
      )
      for (const c of cases) await publisher.publishAsync(c.topic, Buffer.from(c.payload), { qos: 1 })
      await done
      const got = Object.fromEntries(Object.entries(s.stats().rejected).filter(([, n]) => n > 0))
      assert.deepEqual(got, expected)
      const e = validReading('p256')
      const ok = nextInput(s)
      await publisher.publishAsync(readingTopic(e.device as Hex), JSON.stringify(e), { qos: 1 })
      assert.equal((await ok).signer, e.device)
    })

    it('a reading published by the mosquitto_pub command is accepted', async function () {
      if (mosquittoPub === undefined) {
        console.log('      skipped: mosquitto_pub is not installed (apt-get install mosquitto-clients)')
        this.skip()
      }
      src = await source(broker.url)
      const e = validReading('p256')
      const got = nextInput(src)
      await run(mosquittoPub as string, [
        '-h',
        broker.host,
        '-p',
        String(broker.port),
        '-q',
        '1',
        '-t',
        readingTopic(e.device as Hex),
        '-m',
        JSON.stringify(e),
      ])
      const input = await got
      assert.equal(input.signer, e.device)
      assert.equal(input.curve, 'p256')
    })
  })
}

inputSourceSuite('the embedded broker (aedes)', startAedes)
inputSourceSuite('Mosquitto', startMosquitto)

describe('MQTT input source: embedded default and reconnection', function () {
  it('with no URL it runs its own broker, and closes it with itself', async () => {
    const s = await anyDeviceSource({
      clean: true,
    })
    try {
      assert.match(s.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/)
      const pub = await connectClient(s.url)
      const e = validReading('secp256k1')
      const got = nextInput(s)
      await pub.publishAsync(readingTopic(e.device as Hex), JSON.stringify(e), { qos: 1 })
      assert.equal((await got).signer, e.device)
      await pub.endAsync()
    } finally {
      await s.close()
    }
    await assert.rejects(mqtt.connectAsync(s.url, { reconnectPeriod: 0, connectTimeout: 2_000 }))
  })

  it('reconnects with backoff after the broker goes away and resubscribes, then accepts again', async () => {
    let broker = await startEmbeddedBroker()
    const port = broker.port
    const s = await anyDeviceSource({
      clean: true,
      url: broker.url,
      minBackoffMs: 50,
      maxBackoffMs: 400,
    })
    try {
      const offline = waitFor(
        (cb) => s.onStatus(cb),
        (st) => st === 'offline',
        30_000,
        'offline',
      )
      await broker.close()
      await offline
      const back = waitFor(
        (cb) => s.onStatus(cb),
        (st) => st === 'subscribed',
        30_000,
        'resubscribed',
      )
      broker = await startEmbeddedBroker({ port })
      await back
      const pub = await connectClient(broker.url)
      const e = validReading('p256')
      const got = nextInput(s)
      await pub.publishAsync(readingTopic(e.device as Hex), JSON.stringify(e), { qos: 1 })
      assert.equal((await got).signer, e.device)
      await pub.endAsync()
    } finally {
      await s.close()
      await broker.close()
    }
  })

  it('a handler that throws does not stop the source', async () => {
    const s = await anyDeviceSource({
      clean: true,
    })
    try {
      s.onInput(() => {
        throw new Error('boom')
      })
      const pub = await connectClient(s.url)
      for (let i = 0; i < 2; i++) {
        const e = validReading('secp256k1')
        const got = nextInput(s)
        await pub.publishAsync(readingTopic(e.device as Hex), JSON.stringify(e), { qos: 1 })
        await got
      }
      assert.equal(s.stats().accepted, 2)
      await pub.endAsync()
    } finally {
      await s.close()
    }
  })

  it('an unreachable broker is a CONFIG error, not a hang', async () => {
    await assert.rejects(
      createMqttInputSource({
        clean: true,
        url: 'mqtt://127.0.0.1:1',
        chainId: CHAIN,
        log: false,
        connectTimeoutMs: 500,
      }),
      (e: Error & { code?: string }) => e.code === 'CONFIG',
    )
  })
})
