/**
 * Oracle ingestion benchmark: signed readings through the broker, the JSON Schema and the signature
 * check (`readingsPerSec`), against the same broker and payloads with no checks at all
 * (`brokerMsgsPerSec`), in the same run, so the cost of our checks is the ratio of the two.
 *
 * Run alone: `npx tsx bench/oracles.ts` (prints JSON). `npm run bench` includes it.
 */
import { pathToFileURL } from 'node:url'
import mqtt from 'mqtt'
import type { Hex } from 'viem'
import {
  getSignerId,
  readingToEnvelope,
  signReading,
  textToBytes32,
  type OracleKey,
} from '../oracles/message/index.ts'
import { connectMqtt } from '../oracles/mqtt/connectMqtt.ts'
import { createMqttInputSource } from '../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../oracles/mqtt/readingTopic.ts'
import { startEmbeddedBroker } from '../oracles/mqtt/startEmbeddedBroker.ts'

const CHAIN = 31337n
const NOW_MS = 1_700_000_000_000
const keys: OracleKey[] = [
  { curve: 'p256', privateKey: '0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721' },
  { curve: 'secp256k1', privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' },
]

/** `count` signed readings, half P-256 and half secp256k1, as (topic, payload). */
function signedPayloads(count: number): { topic: string; payload: string }[] {
  const out: { topic: string; payload: string }[] = []
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length] as OracleKey
    const device = getSignerId(key)
    const reading = {
      device,
      sequence: BigInt(i + 1),
      timestamp: BigInt(NOW_MS / 1000),
      kind: textToBytes32('temperature'),
      value: BigInt(4000 + (i % 100)),
      unit: textToBytes32('mC'),
    }
    out.push({
      topic: readingTopic(device as Hex),
      payload: JSON.stringify(readingToEnvelope(signReading({ chainId: CHAIN, reading, key }))),
    })
  }
  return out
}

async function publishAll(
  url: string,
  payloads: readonly { topic: string; payload: string }[],
): Promise<void> {
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  await Promise.all(payloads.map((p) => pub.publishAsync(p.topic, p.payload, { qos: 1 })))
  await pub.endAsync()
}

/**
 * Measures readings per second through broker + schema + signature (the MQTT input source) and
 * raw broker messages per second (a subscriber that only counts), on the embedded broker.
 *
 * @example
 * ```ts
 * const { readingsPerSec, brokerMsgsPerSec } = await benchOracles()
 * console.log(`checks cost ${(1 - readingsPerSec / brokerMsgsPerSec) * 100}% of throughput`)
 * ```
 */
export async function benchOracles(
  options: { count?: number } = {},
): Promise<{ readingsPerSec: number; brokerMsgsPerSec: number }> {
  const count = options.count ?? 2_000
  const payloads = signedPayloads(count)
  const broker = await startEmbeddedBroker()
  try {
    // 1. The broker alone: a subscriber that only counts.
    let received = 0
    let rawDone: () => void = () => {}
    const rawFinished = new Promise<void>((r) => (rawDone = r))
    const raw = await connectMqtt({
      url: broker.url,
      subscriptions: ['chanvm/v1/devices/+/readings'],
      onMessage: () => {
        if (++received === count) rawDone()
      },
    })
    let t0 = performance.now()
    await publishAll(broker.url, payloads)
    await rawFinished
    const brokerMsgsPerSec = count / ((performance.now() - t0) / 1000)
    await raw.close()

    // 2. The same payloads through the input source: schema, replay, freshness, signature.
    const source = await createMqttInputSource({
      url: broker.url,
      chainId: CHAIN,
      devices: keys.map(getSignerId),
      now: () => NOW_MS,
      log: false,
    })
    let checkedDone: () => void = () => {}
    const checkedFinished = new Promise<void>((r) => (checkedDone = r))
    const seen = () => {
      const s = source.stats()
      if (s.accepted + Object.values(s.rejected).reduce((a, b) => a + b, 0) === count) checkedDone()
    }
    source.onInput(seen)
    source.onRejection(seen)
    t0 = performance.now()
    await publishAll(broker.url, payloads)
    await checkedFinished
    const readingsPerSec = count / ((performance.now() - t0) / 1000)
    const accepted = source.stats().accepted
    await source.close()
    if (accepted !== count) throw new Error(`bench: only ${accepted} of ${count} readings were accepted`)
    return { readingsPerSec: Math.round(readingsPerSec), brokerMsgsPerSec: Math.round(brokerMsgsPerSec) }
  } finally {
    await broker.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchOracles()) + '\n')
}
