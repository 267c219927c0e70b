// The embedded broker (aedes, the default when no broker URL is given) with the input source's
// default persistent session: a publish on a topic with an empty level must not cost a reading.
import { strict as assert } from 'node:assert'
import mqtt from 'mqtt'
import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { createMqttInputSource } from '../../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { startEmbeddedBroker } from '../../oracles/mqtt/startEmbeddedBroker.ts'
import { CHAIN, NOW_MS, knownDevices, validReading } from './hostile.ts'

describe('embedded broker: topics with an empty level', function () {
  this.timeout(120_000)

  it('a publisher on chanvm/v1/devices//readings is refused at the broker; the default persistent session delivers every valid reading once', async () => {
    const source = await createMqttInputSource({
      chainId: CHAIN,
      devices: knownDevices,
      now: () => NOW_MS,
      log: false,
      clientId: `chanvm-test-empty-level-${process.pid}`,
    })
    let offline = 0
    source.onStatus((s) => {
      if (s === 'offline') offline++
    })
    const delivered: VerifiedInput[] = []
    let onDelivered = () => {}
    source.onInput((input) => {
      delivered.push(input)
      onDelivered()
    })
    const device = await mqtt.connectAsync(source.url, { reconnectPeriod: 0 })
    const attackerErrors: string[] = []
    const attacker = mqtt.connect(source.url, { reconnectPeriod: 100 })
    attacker.on('error', (e) => attackerErrors.push(e.message))
    try {
      const total = 200
      const sent: Promise<unknown>[] = []
      for (let i = 1; i <= total; i++) {
        const env = validReading(i % 2 === 0 ? 'p256' : 'secp256k1', { sequence: BigInt(i) })
        sent.push(device.publishAsync(readingTopic(env.device as Hex), JSON.stringify(env), { qos: 1 }))
        if (i % 5 === 0) {
          for (const topic of [
            'chanvm/v1/devices//readings',
            'chanvm/v1//x/readings',
            'chanvm/v1/devices/x/',
          ])
            attacker.publish(topic, JSON.stringify(env), { qos: 1 }, () => {})
        }
        if (i % 10 === 0) await new Promise((r) => setImmediate(r))
      }
      await Promise.all(sent)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`${delivered.length} of ${total} delivered: ${JSON.stringify(source.stats())}`)),
          60_000,
        )
        onDelivered = () => {
          if (delivered.length < total) return
          clearTimeout(timer)
          resolve()
        }
        onDelivered()
      })
      const keys = delivered.map((d) => `${d.signer}/${d.sequence}`)
      assert.equal(new Set(keys).size, total, 'every valid reading delivered once')
      assert.equal(delivered.length, total)
      const stats = source.stats()
      assert.equal(stats.accepted, total)
      assert.equal(stats.verdicts['stale-sequence'] ?? 0, 0, 'no valid reading refused as stale')
      assert.equal(offline, 0, "the input source's connection was never dropped")
    } finally {
      attacker.end(true)
      await device.endAsync()
      await source.close()
    }
  })

  it('refuses at the broker a publish whose topic has an empty level, a wildcard or a $ prefix; delivers the others', async () => {
    const broker = await startEmbeddedBroker()
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
    const got: string[] = []
    sub.on('message', (topic) => got.push(topic))
    await sub.subscribeAsync(['chanvm/#', '+/#'], { qos: 1 })
    try {
      for (const topic of [
        'chanvm/v1/devices//readings',
        '/chanvm/v1',
        'chanvm/v1/',
        'chanvm//v1',
        'chanvm/v1/devices/+/readings',
        '$chanvm/v1',
      ]) {
        const bad = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
        const closed = new Promise<void>((r) => bad.once('close', () => r()))
        bad.publish(topic, 'x', { qos: 1 }, () => {})
        await closed
        bad.end(true)
      }
      const good = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
      await good.publishAsync('chanvm/v1/devices/a/readings', 'x', { qos: 1 })
      await good.endAsync()
      for (const end = Date.now() + 30_000; got.length === 0 && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.deepEqual(got, ['chanvm/v1/devices/a/readings'])
    } finally {
      await sub.endAsync()
      await broker.close()
    }
  })
})
