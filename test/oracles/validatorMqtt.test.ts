import { strict as assert } from 'node:assert'
import type { Hex } from 'viem'
import type { InputRejectionEvent, VerifiedInput } from '../../engine/inputs/types.ts'
import type { Equivocation } from '../../oracles/mqtt/createInputValidator.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { startAedes, type TestBroker } from './brokers.ts'
import { validReading } from './hostile.ts'
import { connectClient, knownDeviceSource } from './knownDeviceSource.ts'

describe('input source: the replay verdicts through a real broker', function () {
  this.timeout(30_000)
  let broker: TestBroker
  before(async () => {
    broker = await startAedes()
  })
  after(async () => {
    await broker?.stop()
  })

  it('a copy is counted duplicate, an equivocation replay with both digests in its detail and onEquivocation, a duplicate-key payload schema', async () => {
    const equivocations: Equivocation[] = []
    const src = await knownDeviceSource(broker.url, { onEquivocation: (e) => equivocations.push(e) })
    const publisher = await connectClient(broker.url)
    try {
      const inputs: VerifiedInput[] = []
      const rejections: InputRejectionEvent[] = []
      src.onInput((i) => void inputs.push(i))
      src.onRejection((r) => rejections.push(r))
      const a = validReading('p256', { sequence: 9_000n, value: 1n })
      const b = validReading('p256', { sequence: 9_000n, value: 2n })
      const topic = readingTopic(a.device as Hex)
      const payloads = [
        JSON.stringify(a),
        JSON.stringify(a),
        JSON.stringify(b),
        JSON.stringify(a).replace('"value":', '"\\u0076alue":"3","value":'),
      ]
      for (const p of payloads) await publisher.publishAsync(topic, p, { qos: 1 })
      for (
        const end = Date.now() + 30_000;
        inputs.length + rejections.length < payloads.length && Date.now() < end;
      )
        await new Promise((r) => setTimeout(r, 10))
      assert.equal(inputs.length, 1)
      const digestA = inputs[0]?.digest as Hex
      assert.deepEqual(
        rejections.map((r) => r.reason),
        ['duplicate', 'replay', 'schema'],
      )
      // The finer verdict travels with each rejection and is counted by the source.
      assert.deepEqual(
        rejections.map((r) => r.verdict),
        ['duplicate', 'equivocation', 'malformed'],
      )
      assert.deepEqual(src.stats().verdicts, { duplicate: 1, equivocation: 1, malformed: 1 })
      const [, eq, malformed] = rejections
      assert.match(eq?.detail ?? '', new RegExp(`^equivocation: .*accepted ${digestA}, now 0x[0-9a-f]{64}$`))
      assert.match(malformed?.detail ?? '', /^malformed: payload is not strict JSON: duplicate key "value"/)
      assert.equal(equivocations.length, 1)
      assert.equal(equivocations[0]?.accepted, digestA)
      assert.notEqual(equivocations[0]?.offered, digestA)
      assert.deepEqual(
        Object.entries(src.validator.stats().rejected).filter(([, n]) => n > 0),
        [
          ['malformed', 1],
          ['duplicate', 1],
          ['equivocation', 1],
        ],
      )
    } finally {
      await publisher.endAsync()
      await src.close()
    }
  })
})
