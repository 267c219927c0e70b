// Running `chanvm node` safely, with real processes, a real anvil and real brokers: one node per
// data folder, a client id taken over at run time, signals however the node was started, the
// contracts checked at start-up, readiness that follows the broker and the chain, and reads that
// answer while the JSON-RPC endpoint hangs.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { lockDataDir } from '../../node/lockDataDir.ts'
import { findBinary, freePort, MOSQUITTO_PATHS, startAedes, waitListening } from '../oracles/brokers.ts'
import { startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'
import { startRpcProxy } from '../support/anvilProxy.ts'
import { startApiNodes } from '../support/apiNodes.ts'
import {
  isPortFree,
  isRunning,
  startDaemon,
  waitUntil,
  writeNodeFiles,
  type DaemonProcess,
} from '../support/nodeDaemon.ts'

/** A Mosquitto of this test's own on a fixed free port, that it can stop and start again. */
type OwnMosquitto = { url: string; start(): Promise<void>; stop(): Promise<void> }

async function ownMosquitto(): Promise<OwnMosquitto | undefined> {
  const bin = findBinary(MOSQUITTO_PATHS)
  if (bin === undefined) return undefined
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-ops-mosquitto-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`)
  let child: ChildProcess | undefined
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const c = spawn(bin, ['-c', conf], { stdio: 'ignore' })
      child = c
      await waitListening(port, c)
    },
    async stop() {
      const c = child
      child = undefined
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
      const gone = new Promise<void>((r) => c.once('exit', () => r()))
      c.kill('SIGTERM')
      await gone
    },
  }
}

describe('operations: chanvm node as a process', function () {
  this.timeout(180_000)
  let f: ChainFixture
  let dir: string
  const running: DaemonProcess[] = []
  const daemon = (configPath: string, via: 'bin' | 'npx' = 'bin') => {
    const d = startDaemon(configPath, via)
    running.push(d)
    return d
  }

  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    await f?.stop()
  })
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-ops-'))
  })
  afterEach(() => {
    for (const d of running.splice(0)) d.kill()
    rmSync(dir, { recursive: true, force: true })
  })

  const chainConfig = (overrides: Record<string, unknown> = {}) => ({
    rpcUrl: f.anvil.rpcUrl,
    chainId: f.anvil.chainId,
    adjudicator: f.deployment.adjudicator.address,
    pollingIntervalMs: 200,
    ...overrides,
  })

  describe('one node per data folder', () => {
    it('a second node on the same configuration refuses (exit 3, the folder and the holding pid); after SIGKILL of the first a new one starts', async () => {
      const broker = await startAedes()
      try {
        const { configPath } = await writeNodeFiles(dir, {
          chain: chainConfig(),
          broker: { url: broker.url },
          http: { port: 0 },
        })
        const first = daemon(configPath)
        await first.ready()

        const second = daemon(configPath)
        const { code } = await second.exited
        assert.equal(code, 3, second.stderr())
        assert.equal(second.stdout(), '', 'the second node never says ready')
        const dataDir = join(dir, 'data')
        assert.match(
          second.stderr(),
          new RegExp(
            `could not start \\(DATA_DIR_LOCKED\\): the data folder ${dataDir} is in use by another chanvm node \\(pid ${first.child.pid} on `,
          ),
        )
        const refused = second.logs().find((l) => l.msg === 'could not start')
        assert.equal(refused?.code, 'DATA_DIR_LOCKED')

        first.child.kill('SIGKILL')
        assert.equal((await first.exited).signal, 'SIGKILL')
        const third = daemon(configPath)
        const url = await third.ready()
        assert.equal((await fetch(`${url}/v1/health`)).status, 200)
        third.child.kill('SIGTERM')
        assert.equal((await third.exited).code, 0, third.stderr())
      } finally {
        await broker.stop()
      }
    })
  })

  describe('a client id taken over at run time', () => {
    const brokers: [string, () => Promise<{ url: string; stop(): Promise<void> } | undefined>][] = [
      [
        'Mosquitto',
        async () => {
          const m = await ownMosquitto()
          if (m === undefined) return undefined
          await m.start()
          return { url: m.url, stop: m.stop }
        },
      ],
      ['aedes (embedded)', startAedes],
    ]
    for (const [name, startBroker] of brokers) {
      it(`on ${name}: another client on the node's client id makes it log at error and stop with exit 4`, async function () {
        const broker = await startBroker()
        if (broker === undefined) this.skip()
        const other: mqtt.MqttClient[] = []
        try {
          const { configPath, address } = await writeNodeFiles(dir, {
            chain: chainConfig(),
            broker: { url: broker.url },
            http: { port: 0 },
          })
          const node = daemon(configPath)
          await node.ready()
          const clientId = `chanvm-node-${address.toLowerCase()}`
          // A second process with the same configuration on another data folder: it reconnects too.
          other.push(mqtt.connect(broker.url, { clientId, clean: false, reconnectPeriod: 300 }))
          const { code } = await node.exited
          assert.equal(code, 4, node.stderr())
          assert.match(node.stderr(), /stopped \(CLIENT_ID_TAKEN_OVER\)/)
          const line = node.logs().find((l) => l.level === 50 && l.code === 'CLIENT_ID_TAKEN_OVER')
          assert.ok(line !== undefined, node.stderr())
          assert.equal(line.clientId, clientId)
          assert.equal(line.url, broker.url)
          assert.match(line.msg, new RegExp(`client id ${clientId} on ${broker.url}`))
        } finally {
          for (const c of other) await c.endAsync(true)
          await broker.stop()
        }
      })
    }
  })

  describe('signals, however the node was started', () => {
    for (const via of ['bin', 'npx'] as const) {
      it(`SIGTERM to the process started as ${via === 'bin' ? 'node cli/bin.mjs node' : 'npx chanvm node'} stops the whole tree and frees the port and the folder`, async () => {
        const broker = await startAedes()
        try {
          const { configPath } = await writeNodeFiles(dir, {
            chain: chainConfig(),
            broker: { url: broker.url },
            http: { port: 0 },
          })
          const d = daemon(configPath, via)
          const url = await d.ready()
          const { processTree } = await import('../support/nodeDaemon.ts')
          const tree = processTree(d.child.pid ?? -1)
          assert.ok(tree.length >= (via === 'npx' ? 2 : 1), `process tree ${tree.join(', ')}`)
          d.child.kill('SIGTERM')
          await d.exited
          await waitUntil('every process of the tree to exit', () => tree.every((p) => !isRunning(p)), 30_000)
          assert.ok(await isPortFree(Number(new URL(url).port)), 'the API port is free')
          const lock = lockDataDir(join(dir, 'data'))
          lock.release()
        } finally {
          await broker.stop()
        }
      })
    }
  })

  describe('the contracts are checked at start-up', () => {
    it('an Adjudicator address without code (an account) is refused with exit 3, nothing written', async () => {
      const { configPath } = await writeNodeFiles(dir, {
        chain: chainConfig({ adjudicator: f.carol.address }),
        broker: { url: 'mqtt://127.0.0.1:1' },
        http: { port: 0 },
      })
      const d = daemon(configPath)
      const { code } = await d.exited
      assert.equal(code, 3, d.stderr())
      assert.match(
        d.stderr(),
        new RegExp(`could not start \\(CONFIG\\): chain.adjudicator ${f.carol.address} has no code on `),
      )
      assert.equal(existsSync(join(dir, 'data')), false, 'no data folder')
      assert.deepEqual(readdirSync(dir).sort(), ['key.json', 'node.json'])
    })

    it('an app address whose code is not the app of this build is refused with exit 3, nothing written', async () => {
      // Another app's contract named as the escrow app.
      const tv = f.deployment.apps['BrokenApp']
      assert(tv)
      const { configPath } = await writeNodeFiles(dir, {
        chain: chainConfig({ apps: { escrow: tv.address } }),
        broker: { url: 'mqtt://127.0.0.1:1' },
        http: { port: 0 },
      })
      const d = daemon(configPath)
      const { code } = await d.exited
      assert.equal(code, 3, d.stderr())
      assert.match(
        d.stderr(),
        new RegExp(
          `could not start \\(APP_CODE_MISMATCH\\): chain.apps.escrow ${tv.address} does not run the escrow app of this build`,
        ),
      )
      assert.deepEqual(readdirSync(dir).sort(), ['key.json', 'node.json'])
    })
  })

  /** GET `path` of the node; the JSON body (or the text) and the status. */
  const get = async (url: string, path: string) => {
    const res = await fetch(`${url}${path}`)
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // Prometheus text
    }
    return { status: res.status, body, text }
  }
  type Ready = {
    ready: boolean
    down: string[]
    broker: { up: boolean; url: string }
    chain: { up: boolean }
  }
  const gauge = (text: string, name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]

  describe('readiness follows the broker and the chain', () => {
    it('Mosquitto stopped, then the chain gone: /v1/ready says which is down (503), gauges 0, a log line names the URL; both recover', async function () {
      const mosquitto = await ownMosquitto()
      if (mosquitto === undefined) this.skip()
      await mosquitto.start()
      const proxy = await startRpcProxy(f.anvil.rpcUrl)
      try {
        // The chain is taken down by refusing connections, so its calls fail at once: the 10 s
        // timeout only keeps a slow answer on a loaded machine from counting as down.
        const { configPath } = await writeNodeFiles(dir, {
          chain: chainConfig({ rpcUrl: proxy.url, timeoutMs: 10_000 }),
          broker: { url: mosquitto.url },
          http: { port: 0 },
        })
        const node = daemon(configPath)
        const url = await node.ready()
        const ready = async () => (await get(url, '/v1/ready')) as { status: number; body: Ready }
        await waitUntil('the node ready', async () => (await ready()).status === 200, 60_000)
        assert.equal((await ready()).status, 200)
        assert.deepEqual((await ready()).body.down, [])
        assert.equal((await get(url, '/v1/health')).status, 200)

        await mosquitto.stop()
        await waitUntil('the broker reported down', async () => (await ready()).status === 503)
        const brokerDown = await ready()
        assert.deepEqual(brokerDown.body.down, ['broker'])
        assert.equal(brokerDown.body.broker.url, mosquitto.url)
        assert.equal((await get(url, '/v1/health')).status, 200, 'still live')
        const m1 = (await get(url, '/metrics')).text
        assert.equal(gauge(m1, 'chanvm_broker_up'), '0')
        assert.equal(gauge(m1, 'chanvm_chain_up'), '1')
        assert.equal(gauge(m1, 'chanvm_ready'), '0')
        assert.ok(
          node.logs().some((l) => l.level === 40 && l.url === mosquitto.url && /unreachable/.test(l.msg)),
          node.stderr(),
        )

        await mosquitto.start()
        await waitUntil('the broker back', async () => (await ready()).status === 200, 60_000)
        assert.equal(gauge((await get(url, '/metrics')).text, 'chanvm_broker_up'), '1')

        proxy.setDown(true)
        await waitUntil('the chain reported down', async () => (await ready()).status === 503)
        assert.deepEqual((await ready()).body.down, ['chain'])
        const m2 = (await get(url, '/metrics')).text
        assert.equal(gauge(m2, 'chanvm_chain_up'), '0')
        assert.equal(gauge(m2, 'chanvm_broker_up'), '1')
        assert.ok(
          node.logs().some((l) => l.level === 50 && l.url === proxy.url && /does not answer/.test(l.msg)),
          node.stderr(),
        )

        proxy.setDown(false)
        await waitUntil('the chain back', async () => (await ready()).status === 200)
        assert.equal(gauge((await get(url, '/metrics')).text, 'chanvm_chain_up'), '1')
        node.child.kill('SIGTERM')
        assert.equal((await node.exited).code, 0, node.stderr())
      } finally {
        await proxy.close()
        await mosquitto.stop()
      }
    })
  })

  describe('a JSON-RPC endpoint that hangs', () => {
    it('GET /v1/channels/:id answers from what the node knows, with the age of its chain view; chain calls fail with CHAIN_TIMEOUT', async () => {
      const broker = await startAedes()
      const proxy = await startRpcProxy(f.anvil.rpcUrl)
      try {
        // A channel the node (alice) already holds: its co-signed initial state in the store.
        const params = f.escrowParams({ nonce: BigInt(Date.now()) })
        const channelId = getChannelId(params).toLowerCase()
        const store = createSqliteStore({ path: join(dir, 'data', 'node.db') })
        await store.putChannel({ channelId: channelId as `0x${string}`, params, myIndex: 0 })
        await store.putSignedState(
          channelId as `0x${string}`,
          f.cosign(params, f.state(params, 0n, [10n ** 18n, 0n])),
        )
        await store.close()
        const { configPath } = await writeNodeFiles(
          dir,
          {
            chain: chainConfig({ rpcUrl: proxy.url, timeoutMs: 1_000 }),
            broker: { url: broker.url },
            http: { port: 0 },
          },
          f.alice.privateKey,
        )
        const node = daemon(configPath)
        const url = await node.ready()
        // The node's chain calls time out after 1 s: on a loaded machine a first one may, so the view
        // is awaited reachable before the endpoint hangs.
        let live = await get(url, `/v1/channels/${channelId}`)
        await waitUntil('the chain view reachable', async () => {
          live = await get(url, `/v1/channels/${channelId}`)
          return (live.body as { chainView?: { reachable: boolean } }).chainView?.reachable === true
        })
        assert.equal(live.status, 200, live.text)
        assert.equal((live.body as { chainView: { reachable: boolean } }).chainView.reachable, true)

        proxy.setHung(true)
        const shown = await get(url, `/v1/channels/${channelId}`)
        assert.equal(shown.status, 200, shown.text)
        const body = shown.body as {
          channelId: string
          version: string
          onChain?: { status: string }
          chainView: { blockNumber: string; ageMs: number; reachable: boolean }
        }
        assert.equal(body.channelId, channelId)
        assert.equal(body.version, '0')
        assert.equal(body.onChain?.status, 'open', 'the watcher view of the record')
        assert.equal(body.chainView.reachable, false)
        assert.ok(BigInt(body.chainView.blockNumber) > 0n)
        assert.ok(body.chainView.ageMs > 0)
        assert.ok(proxy.held() > 0, 'the endpoint was asked and did not answer')

        // Known down now: answered without asking the chain, and readiness says so.
        await waitUntil('the chain reported down', async () => (await get(url, '/v1/ready')).status === 503)
        const again = await get(url, `/v1/channels/${channelId}`)
        assert.equal(again.status, 200)
        assert.equal((again.body as typeof body).chainView.reachable, false)

        // A call that needs the chain fails with a typed timeout instead of hanging.
        const plan = await get(url, `/v1/channels/${channelId}/dispute`)
        assert.equal(plan.status, 504, plan.text)
        assert.equal((plan.body as { error: { code: string } }).error.code, 'CHAIN_TIMEOUT', plan.text)
        node.child.kill('SIGTERM')
        assert.equal((await node.exited).code, 0, node.stderr())
      } finally {
        proxy.setHung(false)
        await proxy.close()
        await broker.stop()
      }
    })
  })

  describe('act without a broker', () => {
    it('an action while the broker is down fails at once with BROKER_UNAVAILABLE naming the broker, nothing signed', async () => {
      const token = 'ops-broker-down-token-0123456789'
      const nodes = await startApiNodes(token, 'ops-broker')
      try {
        const { alice, bob } = nodes
        const nonce = BigInt(Date.now())
        const request = (role: 'first' | 'second') => ({
          app: 'escrow' as const,
          counterparty: role === 'first' ? nodes.f.bob.address : nodes.f.alice.address,
          role,
          balances: [10n ** 17n, 0n] as [bigint, bigint],
          nonce,
          challengeDuration: 3_600n,
          terms: { arbiter: nodes.f.arbiter.address },
        })
        const [opened] = await Promise.all([
          alice.node.open(request('first')),
          bob.node.open(request('second')),
        ])
        const channelId = opened.channelId
        const before = await alice.node.party.latest(channelId)

        await nodes.broker.stop()
        await waitUntil('alice to see the broker gone', () => !alice.node.health().broker.up)
        const res = await fetch(`${alice.url}/v1/channels/${channelId}/actions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ app: 'escrow', type: 'release' }),
        })
        const body = (await res.json()) as { error: { code: string; message: string } }
        assert.equal(res.status, 503)
        assert.equal(body.error.code, 'BROKER_UNAVAILABLE')
        assert.match(body.error.message, new RegExp(`the MQTT broker ${nodes.broker.url} is not connected`))
        assert.deepEqual(await alice.node.party.latest(channelId), before, 'nothing proposed or signed')
        const ready = await fetch(`${alice.url}/v1/ready`, { headers: { authorization: `Bearer ${token}` } })
        assert.equal(ready.status, 503)
        assert.deepEqual(((await ready.json()) as { down: string[] }).down, ['broker'])
      } finally {
        await nodes.stop()
      }
    })
  })
})
