// With verifier threads a message is admitted on arrival and judged later: forgeries claiming an
// allowed device that are admitted and not yet judged (in flight) must not cost the device a valid
// reading meanwhile, nor afterwards.
import { strict as assert } from 'node:assert'
import type { Hex } from 'viem'
import type { InputRejectionEvent } from '../../engine/inputs/types.ts'
import { getSignerId } from '../../oracles/message/index.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { forgedSignature, strangerKey, validReading } from './hostile.ts'
import { connectClient, startKnownDeviceSource } from './knownDeviceSource.ts'

describe('impersonation with verifier threads: forgeries claiming a device in flight (embedded broker, 2 threads)', function () {
  this.timeout(60_000)

  it("the device's valid reading is admitted while more forgeries claiming it are in flight than its own bucket holds, and they never lower its budget", async () => {
    const { broker, source } = await startKnownDeviceSource({
      verifyThreads: 2,
      // Own bucket: 10, a new device starts with 5; no refill worth counting during the test.
      rateLimit: { perSignerPerSec: 0.001, perSignerBurst: 10, perTopicInFlight: 20 },
    })
    const pub = await connectClient(broker.url)
    // The first valid reading's handler holds it: every message judged after it waits, so what is
    // admitted meanwhile stays in flight until the test lets it go.
    let letFirstGo = () => {}
    const firstHeld = new Promise<void>((r) => (letFirstGo = r))
    try {
      const delivered: bigint[] = []
      const rejections: InputRejectionEvent[] = []
      const waiters = new Set<() => void>()
      const changed = () => {
        for (const w of [...waiters]) w()
      }
      const until = (cond: () => boolean, what: string) =>
        new Promise<void>((resolve, reject) => {
          // A hang guard, not an assertion on time.
          const timer = setTimeout(() => {
            waiters.delete(check)
            reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(source.stats())}`))
          }, 30_000)
          const check = () => {
            if (!cond()) return
            clearTimeout(timer)
            waiters.delete(check)
            resolve()
          }
          waiters.add(check)
          check()
        })
      source.onInput((input) => {
        delivered.push(input.sequence)
        changed()
        return input.sequence === 1n ? firstHeld : undefined
      })
      source.onRejection((r) => {
        rejections.push(r)
        changed()
      })
      const topic = readingTopic(validReading('p256', { sequence: 1n }).device as Hex)
      const sendValid = (sequence: bigint) =>
        pub.publishAsync(topic, JSON.stringify(validReading('p256', { sequence })), { qos: 1 })
      // A message on a topic of no allowed signer is refused on arrival, in its turn: once its
      // refusal is seen, every message published before it has arrived and been admitted or refused.
      const stranger = readingTopic(getSignerId(strangerKey))
      let barriers = 0
      const barrier = async () => {
        const seen = rejections.filter((r) => r.topic === stranger).length
        barriers++
        await pub.publishAsync(stranger, JSON.stringify({ barrier: barriers }), { qos: 1 })
        await until(() => rejections.filter((r) => r.topic === stranger).length > seen, 'the barrier')
      }

      await sendValid(1n)
      await until(() => delivered.includes(1n), 'the first reading')
      // 8 forgeries claiming the device, more than the 4 tokens left in its own bucket.
      const forgeries = 8
      const template = validReading('p256', { sequence: 1n })
      for (let i = 0; i < forgeries; i++) {
        const env = { ...template, sequence: String(100 + i), signature: forgedSignature() }
        await pub.publishAsync(topic, JSON.stringify(env), { qos: 1 })
      }
      await sendValid(2n)
      await barrier()
      assert.deepEqual(
        rejections.filter((r) => r.topic === topic).map((r) => r.reason),
        [],
        'nothing on the device topic was refused while in flight',
      )
      assert.equal(source.stats().rejected['rate-limited'], 0)

      letFirstGo()
      await until(() => delivered.includes(2n), 'the second reading')
      await until(() => source.stats().rejected.signature === forgeries, 'the forgeries judged')

      // Its own bucket had 5: two spent, three left whatever the forgeries did; the next is refused.
      for (const sequence of [3n, 4n, 5n]) {
        await sendValid(sequence)
        await until(() => delivered.includes(sequence), `reading ${sequence}`)
      }
      await sendValid(6n)
      await until(() => source.stats().rejected['rate-limited'] === 1, 'the sixth reading refused')
      await barrier()
      assert.deepEqual(delivered, [1n, 2n, 3n, 4n, 5n])
      const stats = source.stats()
      assert.equal(stats.accepted, 5)
      assert.equal(stats.rejected.signature, forgeries)
      assert.equal(stats.rejected['rate-limited'], 1)
    } finally {
      letFirstGo()
      await pub.endAsync()
      await source.close()
      await broker.stop()
    }
  })
})
