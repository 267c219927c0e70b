// A node's input source on verifier threads: `inputs[].verifyThreads` in the node's configuration,
// checked with a CONFIG error naming the field, and a node started with it verifies the readings
// of its topic on that many worker threads (anvil, a real broker, real signatures).
import assert from 'node:assert/strict'
import dc from 'node:diagnostics_channel'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import mqtt from 'mqtt'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { parseNodeConfig } from '../../node/config.ts'
import { createNode } from '../../node/createNode.ts'
import type { ChanvmNode, NodeConfig } from '../../node/types.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { readingToEnvelope } from '../../oracles/message/readingToEnvelope.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'
import { eventually } from '../scenarios/roles.ts'
import { startAedes, type TestBroker } from './brokers.ts'
import { forgedSignature } from './hostile.ts'

const TOPIC = 'chanvm/v1/devices/+/readings'

describe('node configuration: inputs[].verifyThreads', () => {
  const base = {
    dataDir: 'data',
    keystore: 'key.json',
    chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, adjudicator: `0x${'11'.repeat(20)}` },
    broker: { url: 'mqtt://127.0.0.1:1883' },
  }
  const withThreads = (verifyThreads: unknown) => ({
    ...base,
    inputs: [{ topic: TOPIC, signers: [`0x${'ab'.repeat(32)}`], verifyThreads }],
  })

  it('takes a whole number of threads from 1 to 64', () => {
    for (const n of [1, 2, 64]) assert.equal(parseNodeConfig(withThreads(n)).inputs?.[0]?.verifyThreads, n)
    assert.equal(
      parseNodeConfig({ ...base, inputs: [{ topic: TOPIC, signers: [`0x${'ab'.repeat(32)}`] }] }).inputs?.[0]
        ?.verifyThreads,
      undefined,
    )
  })

  for (const bad of [0, 65, -1, 1.5, '2', null, true])
    it(`refuses ${JSON.stringify(bad)} with a CONFIG error that names the field and the range`, () => {
      assert.throws(
        () => parseNodeConfig(withThreads(bad), 'node.json'),
        (e: unknown) =>
          e instanceof ChanvmError &&
          e.code === 'CONFIG' &&
          /^node\.json: inputs\[0\]\.verifyThreads must be a whole number of threads from 1 to 64$/.test(
            e.message,
          ),
      )
    })
})

describe('a node with inputs[].verifyThreads (anvil, aedes)', function () {
  this.timeout(120_000)
  let f: ChainFixture
  let broker: TestBroker
  let dir: string
  const nodes: ChanvmNode[] = []
  // Every worker thread this process starts, as node:worker_threads announces it.
  const started: Worker[] = []
  const onWorker = (m: unknown) => started.push((m as { worker: Worker }).worker)

  before(async () => {
    f = await startChainFixture()
    broker = await startAedes()
    dir = mkdtempSync(join(tmpdir(), 'chanvm-node-threads-'))
    dc.subscribe('worker_threads', onWorker)
  })
  after(async () => {
    dc.unsubscribe('worker_threads', onWorker)
    for (const n of nodes) await n.close().catch(() => undefined)
    await broker?.stop()
    await f?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  const startNode = async (who: string, device: OracleKey, verifyThreads?: number) => {
    const input = { topic: TOPIC, signers: [getSignerId(device)] }
    const config: NodeConfig = {
      dataDir: join(dir, who),
      keystore: join(dir, `${who}.json`),
      chain: {
        rpcUrl: f.anvil.rpcUrl,
        chainId: f.anvil.chainId,
        adjudicator: f.deployment.adjudicator.address,
        pollingIntervalMs: 100,
      },
      broker: { url: broker.url, clientId: `chanvm-node-${who}` },
      inputs: [verifyThreads === undefined ? input : { ...input, verifyThreads }],
    }
    const node = await createNode({ config, signer: createKeySigner(f.carol.privateKey) })
    nodes.push(node)
    return node
  }

  /** Publishes readings `from..to` of `device` at QoS 1, and one forgery claiming it. */
  const publish = async (device: OracleKey, from: number, to: number) => {
    const id = getSignerId(device)
    const client = await mqtt.connectAsync(broker.url)
    try {
      for (let sequence = from; sequence <= to; sequence++) {
        const reading = {
          device: id,
          sequence: BigInt(sequence),
          timestamp: BigInt(Math.floor(Date.now() / 1000)),
          kind: textToBytes32('temperature'),
          value: BigInt(4_000 + sequence),
          unit: textToBytes32('mC'),
        }
        const envelope = readingToEnvelope(
          signReading({ chainId: BigInt(f.anvil.chainId), key: device, reading }),
        )
        await client.publishAsync(readingTopic(id), JSON.stringify(envelope), { qos: 1 })
        if (sequence === to)
          await client.publishAsync(
            readingTopic(id),
            JSON.stringify({
              ...envelope,
              sequence: String(to + 1),
              signature: forgedSignature(device.curve),
            }),
            { qos: 1 },
          )
      }
    } finally {
      await client.endAsync()
    }
  }

  it('verifies its readings on that many worker threads, started with the first reading; a node without it starts none', async () => {
    for (const curve of ['p256', 'secp256k1'] as const) {
      const device = createOracleKey(curve)
      started.length = 0
      const node = await startNode(`threads-${curve}`, device, 2)
      assert.equal(started.length, 0, 'no thread before a message to check arrives')
      await publish(device, 1, 3)
      await eventually('three readings verified', () => node.metrics().readings['accepted'] === 3)
      await eventually('the forgery refused', () => node.metrics().readings['bad-signature'] === 1)
      assert.equal(started.length, 2, 'two verifier threads')
      const threads = [...started]
      // The threads, idle since, do the checking of the next readings: their event loops were busy.
      const before = threads.map((w) => w.performance.eventLoopUtilization())
      await publish(device, 4, 9)
      await eventually('six more readings verified', () => node.metrics().readings['accepted'] === 9)
      await eventually('the second forgery refused', () => node.metrics().readings['bad-signature'] === 2)
      const busy = threads.map((w, i) => w.performance.eventLoopUtilization(before[i]).active)
      assert.ok(
        busy.some((ms) => ms > 0),
        `the threads checked the readings (busy ${busy.join(', ')} ms)`,
      )
      assert.equal(started.length, 2, 'no thread restarted')
    }

    const device = createOracleKey('p256')
    started.length = 0
    const plain = await startNode('plain', device)
    await publish(device, 1, 3)
    await eventually('three readings verified', () => plain.metrics().readings['accepted'] === 3)
    await eventually('the forgery refused', () => plain.metrics().readings['bad-signature'] === 1)
    assert.equal(started.length, 0, 'without the option every reading is checked on the node thread')
  })
})
