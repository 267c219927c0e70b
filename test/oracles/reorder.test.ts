// Readings delivered out of order (a reconnect, a QoS 1 redelivery, two broker nodes) are all
// taken once while they are inside the stream's replay window, and refused below it.
import { strict as assert } from 'node:assert'
import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { validReading } from './hostile.ts'
import { connectClient, startKnownDeviceSource } from './knownDeviceSource.ts'

describe('reordered delivery: the replay window', function () {
  this.timeout(60_000)

  it('takes every reading delivered out of order inside the window once, refuses those below it and every copy', async () => {
    const { broker, source } = await startKnownDeviceSource({ replayWindow: 16 })
    const pub = await connectClient(broker.url)
    try {
      const delivered: VerifiedInput[] = []
      source.onInput((i) => void delivered.push(i))
      const send = async (sequence: number) => {
        const env = validReading('p256', { sequence: BigInt(sequence) })
        await pub.publishAsync(readingTopic(env.device as Hex), JSON.stringify(env), { qos: 1 })
      }
      // 100 first, then 85..99 backwards (inside the 16-sequence window), 84 and 60 (below it),
      // copies of 100, 90 and 85, then 101 and 99 again.
      const order = [100, ...Array.from({ length: 15 }, (_, i) => 99 - i), 84, 60, 100, 90, 85, 101, 99]
      for (const s of order) await send(s)
      const judged = () => {
        const st = source.stats()
        return st.accepted + Object.values(st.rejected).reduce((a, b) => a + b, 0)
      }
      for (const end = Date.now() + 30_000; judged() < order.length && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      const taken = delivered.map((d) => Number(d.sequence))
      assert.deepEqual(taken, [100, ...Array.from({ length: 15 }, (_, i) => 99 - i), 101])
      const st = source.stats()
      assert.equal(st.verdicts['stale-sequence'], 2, '84 and 60 are below the window')
      assert.equal(st.verdicts.duplicate, 4)
    } finally {
      await pub.endAsync()
      await source.close()
      await broker.stop()
    }
  })
})
