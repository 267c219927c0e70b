// A device nobody can silence: forgeries claiming an allowed device (its real public key, bad
// signatures) are charged to its topic, never to the device, so its own readings all get through.
import { strict as assert } from 'node:assert'
import type { Hex } from 'viem'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { validReading, forgedSignature } from './hostile.ts'
import { collectInputs, connectClient, startKnownDeviceSource } from './knownDeviceSource.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('impersonation flood: 1,000 forged readings a second claim an allowed device for 10 s (embedded broker, default limits)', function () {
  this.timeout(120_000)

  it("every one of the device's valid readings is delivered; no forgery is", async () => {
    const { broker, source } = await startKnownDeviceSource()
    const forger = await connectClient(broker.url)
    const device = await connectClient(broker.url)
    try {
      const { delivered, until } = collectInputs(source)
      const template = validReading('p256', { sequence: 1n })
      const topic = readingTopic(template.device as Hex)
      let forgedCount = 0
      let nextSequence = 1_000_000
      const valid: bigint[] = []
      const publishedValid: Promise<unknown>[] = []
      const start = performance.now()
      const seconds = 10
      // Every 10 ms: the forgeries due by then (1,000 a second); every 150 ms a valid reading.
      for (let tick = 1; tick <= seconds * 100; tick++) {
        const due = tick * 10 - forgedCount
        for (let i = 0; i < due; i++) {
          const env = { ...template, sequence: String(nextSequence++), signature: forgedSignature() }
          forger.publish(topic, JSON.stringify(env), { qos: 0 })
          forgedCount++
        }
        if (tick % 15 === 0) {
          const sequence = BigInt(valid.length + 1)
          valid.push(sequence)
          const env = validReading('p256', { sequence })
          publishedValid.push(device.publishAsync(topic, JSON.stringify(env), { qos: 1 }))
        }
        const wait = start + tick * 10 - performance.now()
        if (wait > 0) await sleep(wait)
      }
      await Promise.all(publishedValid)
      await until(
        valid.length,
        30_000,
        () =>
          `${delivered.length} of ${valid.length} valid readings delivered: ${JSON.stringify(source.stats())}`,
      )
      const stats = source.stats()
      console.log(
        `      ${forgedCount} forged in ${((performance.now() - start) / 1000).toFixed(1)} s, ${valid.length} valid: ${JSON.stringify(stats.verdicts)}, accepted ${stats.accepted}`,
      )
      assert.deepEqual(
        delivered.map((d) => d.sequence),
        valid,
      )
      assert.equal(stats.accepted, valid.length)
      assert.ok((stats.verdicts['bad-signature'] ?? 0) > 0, 'the forgeries were checked and refused')
    } finally {
      await forger.endAsync()
      await device.endAsync()
      await source.close()
      await broker.stop()
    }
  })
})
