import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import mqtt from 'mqtt'
import type { Hex } from 'viem'
import { runDeviceCommand } from '../../cli/commands/device.ts'
import { envelopeSchema, type Envelope } from '../../oracles/message/envelopeSchema.ts'
import { envelopeToSigned } from '../../oracles/message/envelopeToSigned.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { SignedReading } from '../../oracles/message/types.ts'
import { verifyReading } from '../../oracles/message/verifyReading.ts'
import { createMqttInputSource } from '../../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { startAedes, type TestBroker } from '../oracles/brokers.ts'
import { createTestIo, type TestIo } from './support.ts'

const validEnvelope = new Ajv({ strict: true }).compile(envelopeSchema)

const device = (args: string[], io: TestIo, signal?: AbortSignal) =>
  runDeviceCommand(args, { out: io.out, err: io.err }, signal, io)

/** A subscriber that collects the envelopes published on `topic`. */
async function collect(url: string, topic: string) {
  const client = await mqtt.connectAsync(url, { clientId: `test-sub-${process.pid}-${Math.random()}` })
  const messages: { topic: string; retain: boolean; envelope: Envelope }[] = []
  client.on('message', (t, payload, packet) =>
    messages.push({ topic: t, retain: packet.retain, envelope: JSON.parse(payload.toString()) as Envelope }),
  )
  await client.subscribeAsync(topic, { qos: 1 })
  return {
    messages,
    async waitFor(n: number) {
      for (const end = Date.now() + 30_000; messages.length < n && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.equal(messages.length, n, `expected ${n} readings on ${topic}`)
    },
    close: () => client.endAsync(),
  }
}

/** The signed reading an envelope carries, after the schema and the signature check. */
function verified(e: Envelope): SignedReading {
  assert.ok(validEnvelope(e), JSON.stringify(validEnvelope.errors))
  const content = envelopeToSigned(e)
  assert.ok(content !== undefined && content.type === 'reading')
  const verdict = verifyReading(content.signed)
  assert.deepEqual(verdict, { ok: true, signer: content.signed.reading.device })
  return content.signed
}

describe('cli: chanvm device', () => {
  let dir: string
  let broker: TestBroker | undefined
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-device-'))
  })
  afterEach(async () => {
    await broker?.stop()
    broker = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  describe('keygen', () => {
    for (const curve of ['p256', 'secp256k1'] as const)
      it(`writes a ${curve} key file with mode 0600 and prints its signer id`, async () => {
        const out = join(dir, `${curve}.key`)
        const io = createTestIo()
        assert.equal(await device(['keygen', '--curve', curve, '--out', out], io), 0, io.stderr.join('\n'))
        assert.equal(statSync(out).mode & 0o777, 0o600)
        const file = JSON.parse(readFileSync(out, 'utf8')) as {
          curve: string
          privateKey: Hex
          signerId: Hex
        }
        assert.equal(file.curve, curve)
        const id = getSignerId({ curve, privateKey: file.privateKey })
        assert.equal(file.signerId, id)
        assert.deepEqual(io.stdout, [id])
        assert.match(io.stderr.join('\n'), new RegExp(`publishes readings on ${readingTopic(id)}`))
      })

    it('--json prints the signer id, curve, file, topic and P-256 public key', async () => {
      const out = join(dir, 'k.key')
      const io = createTestIo()
      assert.equal(await device(['keygen', '--out', out, '--json'], io), 0)
      const doc = io.json() as Record<string, string>
      assert.equal(doc['curve'], 'p256')
      assert.equal(doc['keyFile'], out)
      assert.equal(doc['topic'], readingTopic(doc['signerId'] as Hex))
      assert.match(doc['publicKey'] ?? '', /^0x[0-9a-f]{128}$/)
    })

    it('never overwrites a key file (exit 3, file unchanged)', async () => {
      const out = join(dir, 'k.key')
      assert.equal(await device(['keygen', '--out', out], createTestIo()), 0)
      const before = readFileSync(out, 'utf8')
      const io = createTestIo()
      assert.equal(await device(['keygen', '--out', out], io), 3)
      assert.match(io.stderr.join('\n'), /exists; a device key is never overwritten/)
      assert.equal(readFileSync(out, 'utf8'), before)
    })

    const bad: [string, string[], RegExp][] = [
      ['no --out', ['keygen'], /--out FILE is required/],
      ['unknown curve', ['keygen', '--curve', 'ed25519', '--out', 'x'], /--curve must be p256 or secp256k1/],
      ['unknown subcommand', ['rotate'], /unknown subcommand 'rotate'/],
      ['no subcommand', [], /a subcommand is required/],
    ]
    for (const [name, args, message] of bad)
      it(`usage error: ${name}`, async () => {
        const io = createTestIo()
        assert.equal(await device(args, io), 2)
        assert.match(io.stderr.join('\n'), message)
      })
  })

  describe('publish', () => {
    const keygen = async (curve: 'p256' | 'secp256k1' = 'p256') => {
      const key = join(dir, `${curve}.key`)
      const io = createTestIo()
      assert.equal(await device(['keygen', '--curve', curve, '--out', key], io), 0)
      return { key, id: io.stdout[0] as Hex }
    }

    it('bad arguments are exit 2 before the key, the broker or the sequence file are touched', async () => {
      const rows: [string[], RegExp][] = [
        [['--broker', 'mqtt://127.0.0.1:1883', '--chain-id', '1'], /--key FILE is required/],
        [['--key', 'k', '--chain-id', '1'], /--broker URL is required/],
        [['--key', 'k', '--broker', 'http://127.0.0.1:1883', '--chain-id', '1'], /--broker needs an mqtt:/],
        [['--key', 'k', '--broker', 'mqtt://127.0.0.1:1883'], /--chain-id N is required/],
        [['--key', 'k', '--broker', 'mqtt://h', '--chain-id', '0x1'], /--chain-id must be a whole number/],
        [
          ['--key', 'k', '--broker', 'mqtt://h', '--chain-id', '1', '--device-topic', 'a/#'],
          /without wildcards/,
        ],
        [
          ['--key', 'k', '--broker', 'mqtt://h', '--chain-id', '1', '--kind', 'deg C'],
          /--kind must be 1 to 32/,
        ],
        [
          ['--key', 'k', '--broker', 'mqtt://h', '--chain-id', '1', '--password-env', 'NOPE'],
          /NOPE is not set/,
        ],
        [['--key', 'k', '--broker', 'mqtt://h', '--chain-id', '1', '--bogus'], /Unknown option '--bogus'/],
      ]
      for (const [args, message] of rows) {
        const io = createTestIo()
        assert.equal(await device(['publish', ...args], io), 2, args.join(' '))
        assert.match(io.stderr.join('\n'), message)
      }
    })

    it('signs stdin readings that verify, and a second run continues after the first run’s last sequence', async () => {
      broker = await startAedes()
      const { key, id } = await keygen()
      const sub = await collect(broker.url, readingTopic(id))
      try {
        const args = ['publish', '--key', key, '--broker', broker.url, '--chain-id', '31337']
        let io = createTestIo({
          stdin: ['-18250\n-18000\n\n# door opened\n', '-17000\n'],
          nowMs: 1_800_000_000_500,
        })
        assert.equal(await device(args, io), 0, io.stderr.join('\n'))
        await sub.waitFor(3)
        assert.equal(readFileSync(`${key}.seq`, 'utf8'), '3\n')
        assert.match(io.stdout.at(-1) ?? '', /3 reading\(s\) published; last sequence 3/)

        const csv = join(dir, 'log.csv')
        writeFileSync(csv, 'timestamp,value\n1800000100,-16000\n2027-01-15T10:00:00Z,12000\n')
        io = createTestIo()
        assert.equal(await device([...args, '--csv', csv, '--json'], io), 0, io.stderr.join('\n'))
        await sub.waitFor(5)
        assert.deepEqual(io.json(), {
          device: id,
          curve: 'p256',
          topic: readingTopic(id),
          chainId: '31337',
          published: 2,
          firstSequence: '4',
          lastSequence: '5',
          sequenceFile: `${key}.seq`,
        })

        const readings = sub.messages.map((m) => {
          assert.equal(m.retain, false)
          return verified(m.envelope)
        })
        assert.deepEqual(
          readings.map((r) => r.reading.sequence),
          [1n, 2n, 3n, 4n, 5n],
        )
        assert.deepEqual(
          readings.map((r) => r.reading.value),
          [-18250n, -18000n, -17000n, -16000n, 12000n],
        )
        assert.deepEqual(
          readings.map((r) => r.reading.timestamp),
          [
            1_800_000_000n,
            1_800_000_000n,
            1_800_000_000n,
            1_800_000_100n,
            BigInt(Date.parse('2027-01-15T10:00:00Z') / 1000),
          ],
        )
        for (const r of readings) {
          assert.equal(r.chainId, 31337n)
          assert.equal(r.reading.device, id)
          assert.equal(r.reading.kind, textToBytes32('temperature'))
          assert.equal(r.reading.unit, textToBytes32('mC'))
        }
      } finally {
        await sub.close()
      }
    })

    it("the node's MQTT input source accepts every reading of two runs: no replay, no stale sequence", async () => {
      broker = await startAedes()
      const { key, id } = await keygen()
      const source = await createMqttInputSource({
        clean: true,
        url: broker.url,
        chainId: 31337n,
        devices: [id],
        log: false,
      })
      const inputs: VerifiedInput[] = []
      source.onInput((input) => void inputs.push(input))
      try {
        const args = ['publish', '--key', key, '--broker', broker.url, '--chain-id', '31337']
        for (const stdin of [
          ['-18250\n', '-18100\n'],
          ['-17900\n', '-17800\n', '-17700\n'],
        ]) {
          const io = createTestIo({ stdin, nowMs: Date.now() })
          assert.equal(await device(args, io), 0, io.stderr.join('\n'))
        }
        for (const end = Date.now() + 30_000; inputs.length < 5 && Date.now() < end;)
          await new Promise((r) => setTimeout(r, 10))
        assert.deepEqual(
          inputs.map((i) => [i.signer, i.sequence, i.message['value']]),
          [1n, 2n, 3n, 4n, 5n].map((n, k) => [id, n, [-18250n, -18100n, -17900n, -17800n, -17700n][k]]),
        )
        const { accepted, rejected } = source.stats()
        assert.equal(accepted, 5)
        assert.deepEqual(
          Object.entries(rejected).filter(([, n]) => n > 0),
          [],
        )
      } finally {
        await source.close()
      }
    })

    it('a secp256k1 device on its own topic, kind and unit', async () => {
      broker = await startAedes()
      const { key, id } = await keygen('secp256k1')
      const topic = `site/7/humidity`
      const sub = await collect(broker.url, topic)
      try {
        const io = createTestIo({ stdin: ['55\n', '56\n'] })
        const args = [
          'publish',
          '--key',
          key,
          '--broker',
          broker.url,
          '--chain-id',
          '1',
          '--device-topic',
          topic,
        ]
        assert.equal(
          await device([...args, '--kind', 'humidity', '--unit', 'pct'], io),
          0,
          io.stderr.join('\n'),
        )
        await sub.waitFor(2)
        const readings = sub.messages.map((m) => verified(m.envelope))
        assert.deepEqual(
          readings.map((r) => [r.reading.sequence, r.reading.value]),
          [
            [1n, 55n],
            [2n, 56n],
          ],
        )
        assert.equal(readings[0]!.reading.device, id)
        assert.equal(readings[0]!.reading.kind, textToBytes32('humidity'))
        assert.equal(readings[0]!.signature.curve, 'secp256k1')
      } finally {
        await sub.close()
      }
    })

    it('a bad line stops with exit 2 naming it; what went before stays published and counted', async () => {
      broker = await startAedes()
      const { key, id } = await keygen()
      const sub = await collect(broker.url, readingTopic(id))
      try {
        const args = ['publish', '--key', key, '--broker', broker.url, '--chain-id', '31337']
        let io = createTestIo({ stdin: ['100\n', '12.5\n', '300\n'] })
        assert.equal(await device(args, io), 2)
        assert.match(
          io.stderr.join('\n'),
          /line 2: value must be a whole number, got "12\.5"; the 1 reading\(s\) before it were published/,
        )
        await sub.waitFor(1)
        assert.equal(readFileSync(`${key}.seq`, 'utf8'), '1\n')
        io = createTestIo({ stdin: ['1800000000,5\n'] })
        assert.equal(await device(args, io), 2)
        assert.match(
          io.stderr.join('\n'),
          /line 1: expected one value, got "1800000000,5" \(rows timestamp,value need --csv -\)/,
        )
        io = createTestIo({ stdin: ['1800000000,5\n'] })
        assert.equal(await device([...args, '--csv', '-'], io), 0, io.stderr.join('\n'))
        await sub.waitFor(2)
        assert.deepEqual(
          sub.messages.map((m) => verified(m.envelope).reading.sequence),
          [1n, 2n],
        )
      } finally {
        await sub.close()
      }
    })

    it('after a crash between recording a number and sending it, the number is skipped, never reused', async () => {
      broker = await startAedes()
      const { key, id } = await keygen()
      writeFileSync(`${key}.seq`, '41\n') // 41 was recorded, then the process died before the publish
      const sub = await collect(broker.url, readingTopic(id))
      try {
        const io = createTestIo({ stdin: ['7\n'] })
        assert.equal(
          await device(['publish', '--key', key, '--broker', broker.url, '--chain-id', '5'], io),
          0,
        )
        await sub.waitFor(1)
        assert.equal(verified(sub.messages[0]!.envelope).reading.sequence, 42n)
      } finally {
        await sub.close()
      }
    })

    it('refuses a damaged sequence file, a key file that is not one, and a key another publisher holds', async () => {
      broker = await startAedes()
      const { key } = await keygen()
      const args = ['publish', '--key', key, '--broker', broker.url, '--chain-id', '5']
      writeFileSync(`${key}.seq`, 'garbage\n')
      let io = createTestIo({ stdin: ['1\n'] })
      assert.equal(await device(args, io), 3)
      assert.match(io.stderr.join('\n'), /does not hold a sequence number.*refusing to guess/)
      rmSync(`${key}.seq`)

      writeFileSync(`${key}.lock`, `${process.pid}\n`)
      io = createTestIo({ stdin: ['1\n'] })
      assert.equal(await device(args, io), 3)
      assert.match(
        io.stderr.join('\n'),
        new RegExp(`another publisher \\(pid ${process.pid}\\) is using this device key`),
      )
      rmSync(`${key}.lock`)

      const fake = join(dir, 'fake.key')
      writeFileSync(
        fake,
        JSON.stringify({
          type: 'chanvm-device-key',
          version: 1,
          curve: 'p256',
          privateKey: `0x${'00'.repeat(32)}`,
        }),
        { mode: 0o600 },
      )
      io = createTestIo({ stdin: ['1\n'] })
      assert.equal(await device(['publish', '--key', fake, '--broker', broker.url, '--chain-id', '5'], io), 3)
      assert.match(io.stderr.join('\n'), /not a valid p256 private key/)
      assert.throws(() => statSync(`${key}.seq`), /ENOENT/)
    })

    it('warns about a key file others can read, and still publishes', async () => {
      broker = await startAedes()
      const { key, id } = await keygen('secp256k1')
      chmodSync(key, 0o644)
      const sub = await collect(broker.url, readingTopic(id))
      try {
        const io = createTestIo({ stdin: ['1\n'] })
        assert.equal(
          await device(['publish', '--key', key, '--broker', broker.url, '--chain-id', '5'], io),
          0,
        )
        assert.ok(
          io.stderr.includes(`warning: ${key} can be read by others (chmod 600 ${key})`),
          io.stderr.join('\n'),
        )
        await sub.waitFor(1)
      } finally {
        await sub.close()
      }
    })

    it('a lock left by a process that is gone is taken over', async () => {
      broker = await startAedes()
      const { key, id } = await keygen()
      writeFileSync(`${key}.lock`, '999999999\n')
      const sub = await collect(broker.url, readingTopic(id))
      try {
        const io = createTestIo({ stdin: ['1\n'] })
        assert.equal(
          await device(['publish', '--key', key, '--broker', broker.url, '--chain-id', '5'], io),
          0,
          io.stderr.join('\n'),
        )
        await sub.waitFor(1)
        assert.throws(() => statSync(`${key}.lock`), /ENOENT/)
      } finally {
        await sub.close()
      }
    })
  })
})
