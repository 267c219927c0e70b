// The verifier pool: worker threads that check batches of readings, and the input source that
// feeds them and judges their verdicts in arrival order.
import { strict as assert } from 'node:assert'
import type { TransferListItem } from 'node:worker_threads'
import mqtt from 'mqtt'
import type { Hex } from 'viem'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { connectMqtt } from '../../oracles/mqtt/connectMqtt.ts'
import { checkEnvelope, type EnvelopeJob } from '../../oracles/mqtt/checkEnvelope.ts'
import { createVerifierPool, type VerifierPool } from '../../oracles/mqtt/createVerifierPool.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { startAedes } from './brokers.ts'
import { CHAIN, NOW_MS, forgedSignature, validReading } from './hostile.ts'
import { connectClient, startKnownDeviceSource } from './knownDeviceSource.ts'
import { waitFor } from './waitFor.ts'

const SETTINGS = { chainId: CHAIN, maxAgeSec: 300, maxFutureSec: 30 }

/** `n` jobs of every kind: valid readings of both curves, forgeries, garbage, an unknown signer. */
function mixedJobs(n: number): EnvelopeJob[] {
  const jobs: EnvelopeJob[] = []
  for (let i = 0; i < n; i++) {
    const curve = i % 2 === 0 ? 'p256' : 'secp256k1'
    const e = validReading(curve)
    const topic = readingTopic(e.device as Hex)
    switch (i % 5) {
      case 0:
      case 1:
        jobs.push({ topic, payload: Buffer.from(JSON.stringify(e)), allowed: true })
        break
      case 2:
        jobs.push({
          topic,
          payload: Buffer.from(JSON.stringify({ ...e, signature: forgedSignature(curve) })),
          allowed: true,
        })
        break
      case 3:
        jobs.push({ topic, payload: Buffer.from(`{"v":1,"type":"reading",${i}`), allowed: true })
        break
      default:
        jobs.push({ topic, payload: Buffer.from(JSON.stringify(e)), allowed: false })
    }
  }
  return jobs
}

/** Splits `jobs` into batches of 1 to 17. */
function batches(jobs: readonly EnvelopeJob[]): EnvelopeJob[][] {
  const out: EnvelopeJob[][] = []
  for (let i = 0, size = 1; i < jobs.length; i += size, size = (size % 17) + 1)
    out.push(jobs.slice(i, i + size))
  return out
}

describe('verifier pool (worker threads)', function () {
  this.timeout(120_000)
  let pool: VerifierPool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it('answers every batch with the verdicts the inline check gives, in the order of its jobs, with many batches in flight', async () => {
    pool = createVerifierPool({ threads: 2, settings: SETTINGS })
    await pool.ready()
    const jobs = mixedJobs(200)
    const expected = jobs.map((j) => checkEnvelope(j, SETTINGS, NOW_MS))
    const got = (await Promise.all(batches(jobs).map((b) => (pool as VerifierPool).check(b, NOW_MS)))).flat()
    assert.deepEqual(got, expected)
    const verdicts = got.map((r) => (r.ok ? 'ok' : r.verdict))
    assert.equal(verdicts.filter((v) => v === 'ok').length, 80)
    assert.equal(verdicts.filter((v) => v === 'bad-signature').length, 40)
    assert.equal(verdicts.filter((v) => v === 'malformed').length, 40)
    assert.equal(verdicts.filter((v) => v === 'unknown-signer').length, 40)
    assert.equal(pool.stats().inFlight, 0)
  })

  it('hands a batch over as one packed buffer: payloads that are views into a larger buffer (as MQTT.js gives them), strings and retained ones get the inline verdicts, and only their own bytes are sent', async () => {
    pool = createVerifierPool({ threads: 2, settings: SETTINGS })
    await pool.ready()
    // One socket chunk holding every payload, as MQTT.js parses them out of it.
    const source = mixedJobs(60)
    const chunk = Buffer.concat([...source.map((j) => j.payload as Buffer), Buffer.alloc(60_000)])
    let at = 0
    const jobs: EnvelopeJob[] = source.map((j, i) => {
      const length = (j.payload as Buffer).length
      const view = chunk.subarray(at, at + length)
      at += length
      if (i % 7 === 3) return { ...j, payload: view.toString('utf8') }
      if (i % 11 === 5) return { ...j, payload: view, retained: true }
      return { ...j, payload: view }
    })
    const payloadBytes = source.reduce((n, j) => n + (j.payload as Buffer).length, 0)
    const sentBytes: number[] = []
    for (const w of pool.workers()) {
      const post = w.postMessage.bind(w)
      w.postMessage = (message: unknown, transfer?: readonly TransferListItem[]) => {
        const buffers = new Set<ArrayBufferLike>()
        const walk = (v: unknown) => {
          if (ArrayBuffer.isView(v)) buffers.add(v.buffer)
          else if (Array.isArray(v)) v.forEach(walk)
          else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk)
        }
        walk(message)
        sentBytes.push([...buffers].reduce((n, b) => n + b.byteLength, 0))
        post(message, transfer as TransferListItem[])
      }
    }
    const expected = jobs.map((j) => checkEnvelope(j, SETTINGS, NOW_MS))
    const got = (await Promise.all(batches(jobs).map((b) => (pool as VerifierPool).check(b, NOW_MS)))).flat()
    assert.deepEqual(got, expected)
    assert.ok(got.some((r) => !r.ok && r.verdict === 'retained'))
    assert.ok(got.some((r) => r.ok))
    // The payloads' own bytes and small bookkeeping (topics travel as strings), not the chunk per job.
    const sent = sentBytes.reduce((a, b) => a + b, 0)
    assert.ok(
      sent < payloadBytes + 8 * jobs.length,
      `${sent} bytes sent for ${payloadBytes} bytes of payloads`,
    )
  })

  it('a thread that dies is replaced, and the batches it held are checked by the new one', async () => {
    const logged: string[] = []
    pool = createVerifierPool({ threads: 2, settings: SETTINGS, log: (l) => logged.push(l) })
    await pool.ready()
    const jobs = mixedJobs(150)
    const expected = jobs.map((j) => checkEnvelope(j, SETTINGS, NOW_MS))
    const victim = pool.workers()[0]
    assert.ok(victim !== undefined)
    const pending = batches(jobs).map((b) => (pool as VerifierPool).check(b, NOW_MS))
    // Killed with batches in flight.
    await victim.terminate()
    const got = (await Promise.all(pending)).flat()
    assert.deepEqual(got, expected)
    assert.equal(pool.stats().restarts, 1)
    assert.ok(!pool.workers().includes(victim))
    assert.ok(logged.some((l) => /exited/.test(l)))
    // The new thread works on.
    await pool.ready()
    assert.deepEqual(await pool.check(jobs.slice(0, 3), NOW_MS), expected.slice(0, 3))
  })

  it('threads that die again and again fail the pool: what is in flight and what comes later is refused with WORKER_FAILED', async () => {
    pool = createVerifierPool({ threads: 2, settings: SETTINGS, maxRestartsInARow: 1 })
    await pool.ready()
    await (pool.workers()[0] as { terminate(): Promise<number> }).terminate()
    await pool.ready()
    const inFlight = assert.rejects(
      pool.check(mixedJobs(40), NOW_MS),
      (e: unknown) => e instanceof ChanvmError && e.code === 'WORKER_FAILED',
    )
    await Promise.all(pool.workers().map((w) => w.terminate()))
    await inFlight
    await assert.rejects(
      pool.check(mixedJobs(1), NOW_MS),
      (e: unknown) => e instanceof ChanvmError && e.code === 'WORKER_FAILED',
    )
  })

  it('close() with batches in flight refuses them, ends every thread and resolves', async () => {
    pool = createVerifierPool({ threads: 2, settings: SETTINGS })
    await pool.ready()
    const exited = pool.workers().map((w) => new Promise<number>((r) => w.once('exit', r)))
    const pending = batches(mixedJobs(120)).map((b) => (pool as VerifierPool).check(b, NOW_MS))
    const outcomes = Promise.allSettled(pending)
    await pool.close()
    const settled = await outcomes
    const refused = settled.filter((s) => s.status === 'rejected')
    assert.ok(refused.length > 0, 'some batches were still in flight')
    for (const r of refused)
      assert.ok(r.reason instanceof ChanvmError && r.reason.code === 'WORKER_FAILED', String(r.reason))
    assert.equal((await Promise.all(exited)).length, 2)
    await assert.rejects(pool.check(mixedJobs(1), NOW_MS), /closed/)
  })
})

describe('input source with verifier threads', function () {
  this.timeout(120_000)

  it('forged signatures in the same batches as valid readings are refused and counted, and the valid ones are handed over in arrival order', async () => {
    const { broker, source } = await startKnownDeviceSource({ verifyThreads: 2, batchSize: 8 })
    const publisher = await connectClient(broker.url)
    try {
      const delivered: VerifiedInput[] = []
      source.onInput((i) => {
        delivered.push(i)
      })
      const valid: bigint[] = []
      const sends: Promise<unknown>[] = []
      let forged = 0
      for (let i = 0; i < 120; i++) {
        const curve = i % 2 === 0 ? 'p256' : 'secp256k1'
        const e = validReading(curve)
        const topic = readingTopic(e.device as Hex)
        if (i % 3 === 2) {
          forged++
          sends.push(
            publisher.publishAsync(topic, JSON.stringify({ ...e, signature: forgedSignature(curve) }), {
              qos: 1,
            }),
          )
        } else {
          valid.push(BigInt(e.sequence))
          sends.push(publisher.publishAsync(topic, JSON.stringify(e), { qos: 1 }))
        }
      }
      await Promise.all(sends)
      const stats = () => source.stats()
      await waitFor<number>(
        (cb) => {
          const t = setInterval(() => cb(stats().accepted + (stats().verdicts['bad-signature'] ?? 0)), 20)
          return () => clearInterval(t)
        },
        (n) => n === 120,
        60_000,
        'every message judged',
      )
      // Arrival order: one publisher, one connection, so the order it published in.
      assert.deepEqual(
        delivered.map((d) => d.sequence),
        valid,
      )
      assert.equal(stats().accepted, valid.length)
      assert.equal(stats().verdicts['bad-signature'], forged)
      assert.equal(stats().rejected.signature, forged)
      assert.equal(stats().rejected['rate-limited'], 0)
    } finally {
      await publisher.endAsync()
      await source.close()
      await broker.stop()
    }
  })
})

describe('connectMqtt with maxInFlight', function () {
  this.timeout(120_000)

  it('hands messages over before the earlier ones settled, acknowledges those that resolved, and the broker sends again only the one that rejected', async () => {
    const broker = await startAedes()
    const handed: string[] = []
    const waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>()
    let onHanded = () => {}
    const link = await connectMqtt({
      url: broker.url,
      clientId: `chanvm-test-inflight-${Date.now()}`,
      clean: false,
      subscriptions: ['chanvm/test/inflight'],
      maxInFlight: 10,
      redeliverAfterMs: 100,
      onMessage: (_topic, payload) => {
        const text = payload.toString()
        handed.push(text)
        onHanded()
        if (handed.filter((h) => h === text).length > 1 || text === 'm5') return
        return new Promise<void>((resolve, reject) => waiting.set(text, { resolve, reject }))
      },
    })
    const publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
    const seen = (pred: (h: string[]) => boolean, what: string) =>
      waitFor<string[]>(
        (cb) => {
          onHanded = () => cb(handed)
          return () => (onHanded = () => {})
        },
        pred,
        60_000,
        what,
      )
    try {
      const all = seen((h) => h.length === 5, 'five messages handed over')
      for (let i = 0; i < 5; i++) await publisher.publishAsync('chanvm/test/inflight', `m${i}`, { qos: 1 })
      await all
      // All five are in the handler's hands at once; they settle last to first, m0 failing.
      assert.equal(waiting.size, 5)
      for (const m of ['m4', 'm3', 'm2', 'm1']) waiting.get(m)?.resolve()
      const again = seen((h) => h.includes('m0', 1), 'm0 sent again')
      waiting.get('m0')?.reject(new Error('the store is down'))
      await again
      const last = seen((h) => h.includes('m5'), 'm5')
      await publisher.publishAsync('chanvm/test/inflight', 'm5', { qos: 1 })
      await last
      assert.deepEqual(handed, ['m0', 'm1', 'm2', 'm3', 'm4', 'm0', 'm5'])
    } finally {
      await publisher.endAsync()
      await link.close()
      await broker.stop()
    }
  })

  it('acknowledges messages that settle together in one write, in the order they arrived', async () => {
    const broker = await startAedes()
    const ids: number[] = []
    const waiting: (() => void)[] = []
    let onHanded = () => {}
    const link = await connectMqtt({
      url: broker.url,
      subscriptions: ['chanvm/test/acks'],
      maxInFlight: 50,
      onMessage: (_topic, _payload, packet) => {
        ids.push((packet as unknown as { messageId: number }).messageId)
        onHanded()
        return new Promise<void>((resolve) => waiting.push(resolve))
      },
    })
    const writes: number[][] = []
    const stream = link.client.stream as NodeJS.WritableStream
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      // PUBACKs: 0x40, 0x02 and the packet identifier, back to back.
      if (Buffer.isBuffer(chunk) && chunk[0] === 0x40) {
        const acked: number[] = []
        for (let i = 0; i + 3 < chunk.length; i += 4) acked.push(chunk.readUInt16BE(i + 2))
        writes.push(acked)
      }
      return write(chunk, ...rest)
    }) as typeof stream.write
    const publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
    try {
      const all = waitFor<number>(
        (cb) => {
          onHanded = () => cb(ids.length)
          return () => (onHanded = () => {})
        },
        (n) => n === 20,
        60_000,
        'twenty messages handed over',
      )
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => publisher.publishAsync('chanvm/test/acks', `m${i}`, { qos: 1 })),
      )
      await all
      assert.equal(writes.length, 0, 'nothing acknowledged before it settled')
      // A batch whose handlers completed: every message settles at once.
      for (const resolve of waiting) resolve()
      await waitFor<number>(
        (cb) => {
          const t = setInterval(() => cb(writes.flat().length), 5)
          return () => clearInterval(t)
        },
        (n) => n === 20,
        60_000,
        'twenty PUBACKs',
      )
      assert.deepEqual(writes, [ids])
    } finally {
      await publisher.endAsync()
      await link.close()
      await broker.stop()
    }
  })
})

describe('connectMqtt one message at a time', function () {
  this.timeout(120_000)

  it('acknowledges the messages already received in one socket write once they are handled, in the order they arrived', async () => {
    const broker = await startAedes()
    const ids: number[] = []
    let release: () => void = () => {}
    const link = await connectMqtt({
      url: broker.url,
      subscriptions: ['chanvm/test/acks1'],
      onMessage: (_topic, _payload, packet) => {
        ids.push((packet as unknown as { messageId: number }).messageId)
        // The first one holds the rest back until they all wait in the socket.
        if (ids.length === 1) return new Promise<void>((resolve) => (release = resolve))
      },
    })
    type Chunk = { chunk: unknown }
    const socket = link.client.stream as unknown as {
      bytesRead: number
      _write(chunk: unknown, encoding: unknown, cb: unknown): void
      _writev(chunks: Chunk[], cb: unknown): void
    }
    // The socket's own writes (one system call each), not the writes queued to it.
    const syscalls: Buffer[] = []
    const toBuffer = (c: unknown) => (Buffer.isBuffer(c) ? c : Buffer.from(String(c)))
    const write = socket._write.bind(socket)
    const writev = socket._writev.bind(socket)
    socket._write = (chunk, encoding, cb) => {
      syscalls.push(toBuffer(chunk))
      write(chunk, encoding, cb)
    }
    socket._writev = (chunks, cb) => {
      syscalls.push(Buffer.concat(chunks.map((c) => toBuffer(c.chunk))))
      writev(chunks, cb)
    }
    // The PUBACKs written, in order, and how many system calls carried them.
    const pubacks = () => {
      const all = Buffer.concat(syscalls)
      const ends: number[] = []
      syscalls.reduce((n, b) => (ends.push(n + b.length), n + b.length), 0)
      const acked: number[] = []
      const carriers = new Set<number>()
      for (let at = 0; at + 1 < all.length; at += 2 + (all[at + 1] as number)) {
        if (all[at] !== 0x40 || at + 3 >= all.length) continue
        acked.push(all.readUInt16BE(at + 2))
        for (let k = at; k < at + 4; k++) carriers.add(ends.findIndex((e) => k < e))
      }
      return { acked, writes: carriers.size }
    }
    const publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
    try {
      const before = socket.bytesRead
      const payloads = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`)
      await Promise.all(payloads.map((p) => publisher.publishAsync('chanvm/test/acks1', p, { qos: 1 })))
      // PUBLISH at QoS 1: header, remaining length, topic length and topic, packet id, payload.
      const bytes = 20 * (2 + 2 + 'chanvm/test/acks1'.length + 2 + 3)
      await waitFor<number>(
        (cb) => {
          const t = setInterval(() => cb(socket.bytesRead - before), 5)
          return () => clearInterval(t)
        },
        (n) => n >= bytes,
        60_000,
        'twenty messages received',
      )
      assert.equal(ids.length, 1, 'one at a time')
      release()
      await waitFor<number>(
        (cb) => {
          const t = setInterval(() => cb(pubacks().acked.length), 5)
          return () => clearInterval(t)
        },
        (n) => n === 20,
        60_000,
        'twenty PUBACKs',
      )
      const { acked, writes } = pubacks()
      assert.deepEqual(acked, ids)
      assert.ok(writes <= 2, `twenty PUBACKs in ${writes} writes`)
    } finally {
      await publisher.endAsync()
      await link.close()
      await broker.stop()
    }
  })
})
