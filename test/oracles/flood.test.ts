import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { bytesToHex, keccak256, toHex, type Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { getSignerId, type OracleKey } from '../../oracles/message/index.ts'
import { createMqttInputSource, type MqttInputSource } from '../../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { brokerOrSkip, startAedes, startMosquitto, type TestBroker } from './brokers.ts'
import { CHAIN, NOW_MS, validReading, forgedSignature } from './hostile.ts'
import { collectInputs, connectClient } from './knownDeviceSource.ts'

const devices: OracleKey[] = [0, 1, 2, 3].map((i) => ({
  curve: i % 2 === 0 ? 'p256' : 'secp256k1',
  privateKey: toHex(0xf100dn + BigInt(i), { size: 32 }),
}))
/** An allowed device whose key the attacker does not have, but whose id and public key it knows. */
const impersonated: OracleKey = { curve: 'p256', privateKey: toHex(0xbadn, { size: 32 }) }

// Once with every check on the input source's thread, once through the verifier threads: the
// threaded path must lose nothing either (it once stopped reading while a batch was checked, the
// broker's queue overflowed, and 19 of the 100 valid readings arrived).
for (const verifyThreads of [1, 2])
  describe(`flood: forged signatures as fast as the test can publish, valid readings interleaved (Mosquitto, ${verifyThreads === 1 ? 'no verifier threads' : `${verifyThreads} verifier threads`})`, function () {
    this.timeout(120_000)
    let broker: TestBroker
    let source: MqttInputSource

    before(async function () {
      broker = await brokerOrSkip(this, startMosquitto())
    })
    after(async () => {
      await source?.close()
      await broker?.stop()
    })

    it('every valid reading is delivered; the forged ones are counted (rate-limited, unknown-signer, signature), none delivered', async () => {
      source = await createMqttInputSource({
        clean: true,
        url: broker.url,
        chainId: CHAIN,
        verifyThreads,
        devices: [...devices, impersonated].map(getSignerId),
        now: () => NOW_MS,
        log: false,
        rateLimit: { perSignerPerSec: 20, perSignerBurst: 100, totalPerSec: 2_000, totalBurst: 4_000 },
      })
      const { delivered, until } = collectInputs(source)

      // The valid readings: 25 per device, signed by the device.
      const perDevice = 25
      const valid = devices.flatMap((key) =>
        Array.from({ length: perDevice }, (_, i) => {
          const envelope = validReading(key.curve, { key, sequence: BigInt(i + 1) })
          return { topic: readingTopic(getSignerId(key)), payload: JSON.stringify(envelope) }
        }),
      )
      // Forgeries: (a) the impersonated allowed device, as fast as possible; (b) a thousand ids of
      // no allowed signer; (c) a few against the valid devices themselves. The flood goes at QoS 0,
      // with no flow control at all; the valid readings at QoS 1.
      const template = validReading('p256', { key: impersonated, sequence: 1n })
      const strangers = Array.from({ length: 1_000 }, () => {
        const publicKey = bytesToHex(randomBytes(64))
        return { publicKey, device: keccak256(publicKey) }
      })
      const forged: { topic: string; payload: string }[] = []
      for (let i = 0; i < 20_000; i++) {
        if (i % 2 === 0) {
          const env = { ...template, sequence: String(i + 10), signature: forgedSignature() }
          forged.push({ topic: readingTopic(env.device as Hex), payload: JSON.stringify(env) })
        } else {
          const who = strangers[i % strangers.length] as (typeof strangers)[number]
          const env = { ...template, ...who, sequence: String(i + 10), signature: forgedSignature() }
          forged.push({ topic: readingTopic(who.device as Hex), payload: JSON.stringify(env) })
        }
      }
      const againstValid = devices.map((key) => {
        const env = validReading(key.curve, { key, sequence: 1_000n })
        const bad = forgedSignature(key.curve)
        return { topic: readingTopic(getSignerId(key)), payload: JSON.stringify({ ...env, signature: bad }) }
      })

      const flooder = await connectClient(broker.url)
      const device = await connectClient(broker.url)
      const publishedValid: Promise<unknown>[] = []
      const chunk = Math.ceil(forged.length / valid.length)
      for (let v = 0; v < valid.length; v++) {
        for (const f of forged.slice(v * chunk, (v + 1) * chunk))
          flooder.publish(f.topic, f.payload, { qos: 0 })
        const reading = valid[v] as { topic: string; payload: string }
        publishedValid.push(device.publishAsync(reading.topic, reading.payload, { qos: 1 }))
        if (v % perDevice === 0) {
          const bad = againstValid[v / perDevice] as { topic: string; payload: string }
          publishedValid.push(device.publishAsync(bad.topic, bad.payload, { qos: 1 }))
        }
        await new Promise((r) => setImmediate(r))
      }
      await Promise.all(publishedValid)

      await until(
        valid.length,
        60_000,
        () =>
          `only ${delivered.length} of ${valid.length} valid readings delivered: ${JSON.stringify(source.stats())}`,
      )
      // Let the rest of the flood drain (the counts stop moving).
      let last = -1
      for (;;) {
        const s = source.stats()
        const judged = s.accepted + Object.values(s.rejected).reduce((a, b) => a + b, 0)
        if (judged === last) break
        last = judged
        await new Promise((r) => setTimeout(r, 300))
      }
      await flooder.endAsync()
      await device.endAsync()

      const stats = source.stats()
      console.log(`      ${forged.length} forged + ${valid.length} valid published: ${JSON.stringify(stats)}`)
      const got = new Set(delivered.map((d) => `${d.signer}/${d.sequence}`))
      const want = new Set(valid.map((v) => JSON.parse(v.payload) as { device: string; sequence: string }))
      assert.equal(got.size, valid.length)
      for (const w of want) assert.ok(got.has(`${w.device}/${w.sequence}`))
      assert.equal(stats.accepted, valid.length)
      assert.ok(delivered.every((d) => d.signer !== getSignerId(impersonated)))
      assert.ok(stats.rejected['rate-limited'] > 0, 'the impersonated signer was rate limited')
      assert.ok(stats.rejected['unknown-signer'] > 0, 'strangers were refused before any cryptography')
      assert.ok(
        stats.rejected.signature >= againstValid.length,
        'forged signatures were verified and refused',
      )
      const judged = stats.accepted + Object.values(stats.rejected).reduce((a, b) => a + b, 0)
      assert.ok(judged <= forged.length + valid.length + againstValid.length)
    })
  })

describe('rate limits in the input source (embedded broker)', function () {
  this.timeout(60_000)

  it('a noisy allowed signer is cut to its bucket before verification, a quiet one is not; a signer allowed later is limited too', async () => {
    const broker = await startAedes()
    const noisy = devices[0] as OracleKey
    const quiet = devices[1] as OracleKey
    const later = devices[2] as OracleKey
    const source = await createMqttInputSource({
      clean: true,
      url: broker.url,
      chainId: CHAIN,
      devices: [getSignerId(noisy), getSignerId(quiet)],
      now: () => NOW_MS,
      log: false,
      rateLimit: { perSignerPerSec: 0.001, perSignerBurst: 20, totalPerSec: 1_000, totalBurst: 2_000 },
    })
    const pub = await connectClient(broker.url)
    try {
      const delivered: VerifiedInput[] = []
      source.onInput((i) => void delivered.push(i))
      const reasons: string[] = []
      source.onRejection((r) => void reasons.push(r.reason))
      const send = async (key: OracleKey, sequence: bigint) => {
        const env = validReading(key.curve, { key, sequence })
        await pub.publishAsync(readingTopic(getSignerId(key)), JSON.stringify(env), { qos: 1 })
      }
      // A new signer starts with half a bucket: 10 messages of the noisy one pass, 20 do not.
      for (let i = 1n; i <= 30n; i++) await send(noisy, i)
      for (let i = 1n; i <= 5n; i++) await send(quiet, i)
      source.validator.allow('device', getSignerId(later))
      for (let i = 1n; i <= 15n; i++) await send(later, i)
      const judged = () => {
        const s = source.stats()
        return s.accepted + Object.values(s.rejected).reduce((a, b) => a + b, 0)
      }
      for (const end = Date.now() + 30_000; judged() < 50 && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 25))
      const count = (k: OracleKey) => delivered.filter((d) => d.signer === getSignerId(k)).length
      assert.deepEqual([count(noisy), count(quiet), count(later)], [10, 5, 10])
      assert.equal(source.stats().rejected['rate-limited'], 25)
      assert.equal(reasons.filter((r) => r === 'rate-limited').length, 25)
      // The ones that passed are the first of each stream, in order.
      assert.deepEqual(
        delivered.filter((d) => d.signer === getSignerId(noisy)).map((d) => d.sequence),
        Array.from({ length: 10 }, (_, i) => BigInt(i + 1)),
      )
    } finally {
      await pub.endAsync()
      await source.close()
      await broker.stop()
    }
  })
})
