import { strict as assert } from 'node:assert'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import { createMqttInputSource, type MqttInputSource } from '../../oracles/mqtt/createMqttInputSource.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { findBinary, freePort, MOSQUITTO_PATHS, SITE_MOSQUITTO_ACL, waitListening } from './brokers.ts'
import { CHAIN, knownDevices, NOW_MS, validReading } from './hostile.ts'
import { waitFor } from './waitFor.ts'

const MOSQUITTO = findBinary(MOSQUITTO_PATHS)
const PASSWD = ['/usr/bin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd'].find((p) => existsSync(p))

const [deviceA, deviceB] = knownDevices as [Hex, Hex]
const partyA = '0x00000000000000000000000000000000000000aa'
const partyB = '0x00000000000000000000000000000000000000bb'
const users: Record<string, string> = {
  ingest: 'ingest-secret',
  'ingest-2': 'ingest-2-secret',
  [deviceA]: 'device-a-secret',
  [deviceB]: 'device-b-secret',
  [partyA]: 'party-a-secret',
  [partyB]: 'party-b-secret',
}
/**
 * The ACL a site ships (oracles/mqtt/mosquitto/acl, docs/messages.md section 8: usernames are
 * signer ids and party addresses), plus a second ingesting user and the two parties' blocks.
 */
const ACL = `${readFileSync(SITE_MOSQUITTO_ACL, 'utf8')}
user ingest-2
topic read chanvm/v1/devices/+/readings
topic read chanvm/v1/oracles/+/answers

user ${partyA}
topic write chanvm/v1/channels/+/to/+
user ${partyB}
topic write chanvm/v1/channels/+/to/+
`

type AuthBroker = { url: string; port: number; stop(): Promise<void> }

/**
 * A Mosquitto of its own with `password_file` (made by mosquitto_passwd), `acl_file` and
 * `use_username_as_clientid`, no anonymous access.
 */
async function startAuthMosquitto(bin: string, passwd: string): Promise<AuthBroker> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-mosquitto-auth-'))
  // Started as root, Mosquitto drops to the `mosquitto` user, which must read the two files.
  chmodSync(dir, 0o755)
  const passwordFile = join(dir, 'passwd')
  for (const [i, [user, password]] of Object.entries(users).entries()) {
    const r = spawnSync(passwd, [...(i === 0 ? ['-c'] : []), '-b', passwordFile, user, password])
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr.toString()}`)
  }
  chmodSync(passwordFile, 0o644)
  const aclFile = join(dir, 'acl')
  writeFileSync(aclFile, ACL, { mode: 0o644 })
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `acl_file ${aclFile}`,
      // The client id is the username: no client can take over another user's session.
      'use_username_as_clientid true',
      'persistence false',
      '',
    ].join('\n'),
  )
  const child = spawn(bin, ['-c', conf], { stdio: 'ignore' })
  await waitListening(port, child)
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Polls `predicate` every 10 ms; throws after 10 s (a hang guard, not an assertion on time). */
async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!predicate()) throw new Error(`timed out waiting for ${what}`)
}

const login = (url: string, user: string, password = users[user] ?? '') =>
  mqtt.connectAsync(url, { username: user, password, reconnectPeriod: 0, connectTimeout: 5_000 })

describe('Mosquitto with users and an ACL (docs/messages.md, section 8)', function () {
  this.timeout(60_000)
  let broker: AuthBroker
  const clients: mqtt.MqttClient[] = []
  let src: MqttInputSource | undefined

  before(async function () {
    if (MOSQUITTO === undefined || PASSWD === undefined) {
      console.log(
        `      skipped: ${MOSQUITTO === undefined ? 'mosquitto' : 'mosquitto_passwd'} is not installed (apt-get install mosquitto)`,
      )
      this.skip()
    }
    broker = await startAuthMosquitto(MOSQUITTO as string, PASSWD as string)
  })
  afterEach(async () => {
    await src?.close()
    src = undefined
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
  })
  after(async () => {
    await broker?.stop()
  })

  const source = (password: string, connectTimeoutMs = 10_000) =>
    createMqttInputSource({
      url: broker.url,
      clientId: 'chanvm-ingest',
      clean: true,
      username: 'ingest',
      password,
      connectTimeoutMs,
      chainId: CHAIN,
      devices: knownDevices,
      now: () => NOW_MS,
      log: false,
    })
  const nextInput = (s: MqttInputSource) =>
    waitFor<VerifiedInput>(
      (cb) => s.onInput(cb),
      () => true,
      30_000,
      'an accepted input',
    )

  it('a wrong password, an unknown user and an anonymous client cannot connect', async () => {
    for (const [user, password] of [
      ['ingest', 'wrong'],
      [deviceA, users[deviceB] as string],
      ['nobody', 'x'],
    ] as const) {
      await assert.rejects(login(broker.url, user, password), /not authori[sz]ed|bad user ?name or password/i)
    }
    await assert.rejects(
      mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5_000 }),
      /not authori[sz]ed/i,
    )
    // The input source with a wrong password fails at start-up with a CONFIG error.
    await assert.rejects(
      source('wrong', 1_500),
      (e: unknown) => e instanceof ChanvmError && e.code === 'CONFIG',
    )
  })

  it('the input source with the right credentials receives a device publishing on its own topic; a device publishing on another device’s topic is not delivered', async () => {
    src = await source(users.ingest as string)
    const a = await login(broker.url, deviceA)
    clients.push(a)
    // Device A publishes B's genuine reading (a replay) and its own reading on B's topic: both dropped by
    // the broker (MQTT 3.1.1 has no negative acknowledgement: the publish itself still resolves).
    const ofB = validReading('p256')
    const ofA = validReading('secp256k1')
    assert.equal(ofB.device, deviceB)
    await a.publishAsync(readingTopic(deviceB), JSON.stringify(ofB), { qos: 1 })
    await a.publishAsync(readingTopic(deviceB), JSON.stringify(ofA), { qos: 1 })
    // Then its own reading on its own topic: delivered, and after the other two had they been let through.
    const got = nextInput(src)
    await a.publishAsync(readingTopic(deviceA), JSON.stringify(ofA), { qos: 1 })
    const input = await got
    assert.equal(input.signer, deviceA)
    assert.equal(input.sequence, BigInt(ofA.sequence))
    const stats = src.stats()
    assert.equal(stats.accepted, 1)
    assert.deepEqual(
      Object.entries(stats.rejected).filter(([, n]) => n > 0),
      [],
      'the forbidden publishes never reached the source',
    )
    // Device B, on its own topic, gets through.
    const b = await login(broker.url, deviceB)
    clients.push(b)
    const next = nextInput(src)
    await b.publishAsync(readingTopic(deviceB), JSON.stringify(ofB), { qos: 1 })
    assert.equal((await next).signer, deviceB)
  })

  it('a device cannot read the readings, and the ingesting user cannot publish one', async () => {
    const spy = await login(broker.url, deviceB)
    clients.push(spy)
    const spied: string[] = []
    spy.on('message', (topic) => spied.push(topic))
    await spy.subscribeAsync('chanvm/v1/devices/+/readings', { qos: 1 })
    src = await source(users.ingest as string)
    const ingest = await login(broker.url, 'ingest-2')
    clients.push(ingest)
    const forged = validReading('secp256k1')
    await ingest.publishAsync(readingTopic(deviceA), JSON.stringify(forged), { qos: 1 })
    const a = await login(broker.url, deviceA)
    clients.push(a)
    const marker = validReading('secp256k1')
    const got = nextInput(src)
    await a.publishAsync(readingTopic(deviceA), JSON.stringify(marker), { qos: 1 })
    assert.equal((await got).sequence, BigInt(marker.sequence))
    assert.equal(src.stats().accepted, 1, 'the ingesting user’s own publish was dropped')
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(spied, [], 'the device read nothing')
  })

  it('a device connecting with the input source’s client id does not take over its connection', async () => {
    const statuses: string[] = []
    src = await source(users.ingest as string)
    src.onStatus((st) => statuses.push(st))
    for (const clientId of ['ingest', 'chanvm-ingest']) {
      const intruder = await mqtt.connectAsync(broker.url, {
        username: deviceA,
        password: users[deviceA] as string,
        clientId,
        reconnectPeriod: 0,
      })
      clients.push(intruder)
    }
    const e = validReading('secp256k1')
    const got = nextInput(src)
    await (clients[1] as mqtt.MqttClient).publishAsync(readingTopic(deviceA), JSON.stringify(e), { qos: 1 })
    assert.equal((await got).sequence, BigInt(e.sequence), 'the intruder still publishes as device A')
    await new Promise((r) => setTimeout(r, 300))
    assert.ok(!statuses.includes('offline'), `the input source was disconnected: ${statuses.join(', ')}`)
  })

  it('a party reads only its own inbox, and may write to any other', async () => {
    const a = await login(broker.url, partyA)
    const b = await login(broker.url, partyB)
    clients.push(a, b)
    const toA: string[] = []
    const spiedByB: string[] = []
    a.on('message', (topic, payload) => toA.push(`${topic} ${payload.toString()}`))
    b.on('message', (topic, payload) => {
      if (!topic.endsWith(`/to/${partyB}`)) spiedByB.push(`${topic} ${payload.toString()}`)
    })
    await a.subscribeAsync(`chanvm/v1/channels/+/to/${partyA}`, { qos: 1 })
    await b.subscribeAsync([`chanvm/v1/channels/+/to/${partyA}`, 'chanvm/v1/channels/#'], { qos: 1 })
    const channel = `0x${'c'.repeat(64)}`
    await b.publishAsync(`chanvm/v1/channels/${channel}/to/${partyA}`, '{"from":"B"}', { qos: 1 })
    await until(() => toA.length >= 1, 'the message to A')
    // A device may not write into a party's inbox either.
    const device = await login(broker.url, deviceA)
    clients.push(device)
    await device.publishAsync(`chanvm/v1/channels/${channel}/to/${partyA}`, '{"from":"device"}', { qos: 1 })
    await b.publishAsync(`chanvm/v1/channels/${channel}/to/${partyA}`, '{"from":"B again"}', { qos: 1 })
    await until(() => toA.length >= 2, 'the second message to A')
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(toA, [
      `chanvm/v1/channels/${channel}/to/${partyA} {"from":"B"}`,
      `chanvm/v1/channels/${channel}/to/${partyA} {"from":"B again"}`,
    ])
    assert.deepEqual(spiedByB, [], 'B read nothing of A’s')
  })
})
