// A burst larger than Mosquitto's default queue (1,000 QoS 1 messages per client) on the settings a
// site ships (oracles/mqtt/mosquitto/mosquitto.conf): nothing valid is lost in the broker.
import { strict as assert } from 'node:assert'
import type { Hex } from 'viem'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { brokerOrSkip, startSiteMosquitto, type TestBroker } from './brokers.ts'
import { validReading, forgedSignature } from './hostile.ts'
import { collectInputs, connectClient, knownDeviceSource } from './knownDeviceSource.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('burst on Mosquitto with the shipped site settings', function () {
  this.timeout(120_000)
  let broker: TestBroker

  before(async function () {
    // Anonymous here (the ACL would stop the forger at the broker): what is tested is the queue.
    broker = await brokerOrSkip(this, startSiteMosquitto({ open: true }))
  })
  after(async () => {
    await broker?.stop()
  })

  it('2,000 forged and 40 valid readings in 0.2 s at QoS 1: all 40 delivered, no forgery', async () => {
    const source = await knownDeviceSource(broker.url, {
      clean: false,
      clientId: `chanvm-burst-${process.pid}`,
    })
    const forger = await connectClient(broker.url)
    const device = await connectClient(broker.url)
    try {
      const { delivered, until } = collectInputs(source)
      const curves = ['secp256k1', 'p256'] as const
      const templates = curves.map((c) => validReading(c, { sequence: 1n }))
      const valid: string[] = []
      // Signed and encoded beforehand, so that the burst is only the publishing.
      const slices = Array.from({ length: 10 }, (_, slice) => {
        const forged = Array.from({ length: 200 }, (_, i) => {
          const k = i % 2
          const t = templates[k] as (typeof templates)[number]
          const env = {
            ...t,
            sequence: String(100_000 + slice * 200 + i),
            signature: forgedSignature(curves[k] as 'p256' | 'secp256k1'),
          }
          return { topic: readingTopic(t.device as Hex), payload: JSON.stringify(env) }
        })
        const good = Array.from({ length: 4 }, (_, i) => {
          const curve = curves[i % 2] as 'p256' | 'secp256k1'
          const sequence = BigInt(slice * 2 + Math.floor(i / 2) + 1)
          const env = validReading(curve, { sequence })
          valid.push(`${env.device}/${sequence}`)
          return { topic: readingTopic(env.device as Hex), payload: JSON.stringify(env) }
        })
        return { forged, good }
      })
      const published: Promise<unknown>[] = []
      const start = performance.now()
      // Ten slices of 20 ms: 200 forgeries (claiming the two allowed devices) and 4 valid readings each.
      for (const [n, slice] of slices.entries()) {
        for (const f of slice.forged) published.push(forger.publishAsync(f.topic, f.payload, { qos: 1 }))
        for (const g of slice.good) published.push(device.publishAsync(g.topic, g.payload, { qos: 1 }))
        const wait = start + (n + 1) * 20 - performance.now()
        if (wait > 0) await sleep(wait)
      }
      const publishMs = performance.now() - start
      await Promise.all(published)
      await until(
        valid.length,
        60_000,
        () => `${delivered.length} of ${valid.length} delivered: ${JSON.stringify(source.stats())}`,
      )
      // Every forgery is judged too (nothing was dropped in the broker): the counts reach 2,040.
      const judged = () => {
        const s = source.stats()
        return s.accepted + Object.values(s.rejected).reduce((a, b) => a + b, 0)
      }
      for (let i = 0; i < 3_000 && judged() < 2_040; i++) await sleep(10)
      const stats = source.stats()
      console.log(
        `      published in ${publishMs.toFixed(0)} ms; judged ${judged()}: ${JSON.stringify(stats.verdicts)}, accepted ${stats.accepted}`,
      )
      assert.deepEqual(new Set(delivered.map((d) => `${d.signer}/${d.sequence}`)), new Set(valid))
      assert.equal(stats.accepted, valid.length)
      assert.equal(judged(), 2_040, 'the broker dropped nothing')
    } finally {
      await forger.endAsync()
      await device.endAsync()
      await source.close()
    }
  })
})
