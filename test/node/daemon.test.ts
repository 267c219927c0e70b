// The node daemon: in process with a recording node (ready line, JSON logs, a request in flight
// finishing before the node closes, refusals to start), then `chanvm node --config` as a child
// process with a real node on anvil and aedes: ready line, GET /v1/health, SIGTERM → exit 0.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { runNodeCommand } from '../../cli/commands/node.ts'
import type { Signer } from '../../engine/crypto/types.ts'
import { createKeystore } from '../../node/keystore.ts'
import { runNodeDaemon, type NodeDaemonDeps } from '../../node/runNodeDaemon.ts'
import type { NodeConfig, NodeEvent } from '../../node/types.ts'
import { startAedes, type TestBroker } from '../oracles/brokers.ts'
import { startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'
import { createFakeNode, KNOWN_CHANNEL, NODE_ADDRESS, type FakeNode } from './httpFakeNode.ts'

const BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url))

const baseConfig = (http: NodeConfig['http']): NodeConfig => ({
  dataDir: '/nonexistent',
  keystore: 'key.json',
  chain: { rpcUrl: 'http://127.0.0.1:1', chainId: 31337, adjudicator: `0x${'00'.repeat(20)}` },
  broker: { url: 'mqtt://127.0.0.1:1' },
  ...(http === undefined ? {} : { http }),
})

/** Deps that never touch a file, a chain or a broker: the node is the recording one. */
function fakeDeps(node: FakeNode, http: NodeConfig['http']): Partial<NodeDaemonDeps> {
  return {
    loadNodeConfig: async () => baseConfig(http),
    readPassphrase: async () => 'pw',
    readKeystore: async () => ({ address: NODE_ADDRESS }) as Signer,
    createNode: async () => node,
  }
}

describe('node daemon', function () {
  describe('in process, with a recording node', () => {
    it('prints one ready line, logs JSON, and on stop lets a request in flight finish before closing', async () => {
      const node = createFakeNode()
      let releaseAct: () => void = () => undefined
      node.actResult = () =>
        new Promise((resolve) => {
          releaseAct = () =>
            resolve({
              ok: true,
              signed: {
                state: {
                  channelId: KNOWN_CHANNEL,
                  version: 1n,
                  balances: [1n, 0n],
                  appData: '0x',
                  isFinal: false,
                },
                signatures: [],
              },
              gasUsed: 1n,
            })
        })
      const out: string[] = []
      const logs = new PassThrough()
      let logText = ''
      logs.on('data', (c: Buffer) => (logText += c.toString('utf8')))
      const controller = new AbortController()
      let ready: { address: string; url: string } | undefined
      const exit = runNodeDaemon({
        configPath: 'node.json',
        env: {},
        io: { out: (l) => out.push(l), err: (l) => out.push(`ERR ${l}`) },
        logStream: logs,
        signal: controller.signal,
        deps: fakeDeps(node, { host: '127.0.0.1', port: 0 }),
        onReady: (r) => (ready = r),
      })
      for (const end = Date.now() + 30_000; ready === undefined && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.ok(ready !== undefined)
      assert.deepEqual(out, [`chanvm node ready: address ${NODE_ADDRESS} api ${ready.url}`])
      const health = await fetch(`${ready.url}/v1/health`)
      assert.equal(health.status, 200)

      const inFlight = fetch(`${ready.url}/v1/channels/${KNOWN_CHANNEL}/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ app: 'escrow', type: 'release' }),
      })
      for (
        const end = Date.now() + 30_000;
        !node.calls.some((c) => c.method === 'act') && Date.now() < end;
      ) {
        await new Promise((r) => setTimeout(r, 10))
      }
      controller.abort()
      await new Promise((r) => setTimeout(r, 100))
      assert.ok(
        !node.calls.some((c) => c.method === 'close'),
        'the node closed while a request was in flight',
      )
      await assert.rejects(fetch(`${ready.url}/v1/health`)) // no new connections
      releaseAct()
      const answered = await inFlight
      assert.equal(answered.status, 200)
      assert.equal(await exit, 0)
      assert.equal(node.calls.at(-1)?.method, 'close')

      const lines = logText.trim().split('\n')
      for (const line of lines) {
        const entry = JSON.parse(line) as { level: number; msg: string }
        assert.equal(typeof entry.level, 'number')
      }
      const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
      for (const m of ['starting', 'ready', 'stopped'])
        assert.ok(messages.includes(m), `${m} in ${messages.join(', ')}`)
      assert.ok(!messages.includes('requests still in flight were cut off'))
    })

    it('logs an event as one exact JSON line and streams the same bytes', async () => {
      const node = createFakeNode()
      const logs = new PassThrough()
      let logText = ''
      logs.on('data', (c: Buffer) => (logText += c.toString('utf8')))
      const controller = new AbortController()
      let ready: { address: string; url: string } | undefined
      const exit = runNodeDaemon({
        configPath: 'node.json',
        env: {},
        io: { out: () => undefined, err: () => undefined },
        logStream: logs,
        signal: controller.signal,
        deps: fakeDeps(node, { host: '127.0.0.1', port: 0 }),
        onReady: (r) => (ready = r),
      })
      for (const end = Date.now() + 30_000; ready === undefined && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.ok(ready !== undefined)
      const res = await fetch(`${ready.url}/v1/events`)
      const reader = res.body!.getReader()
      let streamed = ''
      const decoder = new TextDecoder()
      const readUntil = async (text: string) => {
        for (const end = Date.now() + 10_000; !streamed.includes(text) && Date.now() < end;) {
          const { value, done } = await reader.read()
          if (done) break
          streamed += decoder.decode(value, { stream: true })
        }
      }
      await readUntil('retry: 3000')
      for (const end = Date.now() + 10_000; node.listeners < 2 && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      const event = {
        source: 'chain',
        channelId: KNOWN_CHANNEL,
        step: 'quote "é"\n\u2028',
        gasUsed: 12345678901234567890n,
        hash: `0x${'ab'.repeat(32)}`,
        extra: { bytes: new Uint8Array([1, 2, 255]), n: undefined, list: [1n, null] },
      } as unknown as NodeEvent
      const data =
        `{"source":"chain","channelId":"${KNOWN_CHANNEL}","step":"quote \\"é\\"\\n\u2028",` +
        `"gasUsed":"12345678901234567890","hash":"0x${'ab'.repeat(32)}",` +
        `"extra":{"bytes":"0x0102ff","list":["1",null]}}`
      const sse = `id: 1\nevent: chain\ndata: ${data}\n\nid: 2\nevent: chain\ndata: ${data}\n\n`
      node.emit(event)
      node.emit(event)
      await readUntil(sse)
      // The log and the stream share one serialization of each event: a getter reads the event.
      let reads = 0
      const counted = {
        source: 'node',
        get message() {
          reads++
          return 'counted'
        },
      } as NodeEvent
      const countedSse = `id: 3\nevent: node\ndata: {"source":"node","message":"counted"}\n\n`
      node.emit(counted)
      await readUntil(countedSse)
      assert.equal(reads, 1)
      controller.abort()
      assert.equal(await exit, 0)
      await reader.cancel().catch(() => undefined)
      assert.equal(streamed, `: chanvm events\nretry: 3000\n\n${sse}${countedSse}`)
      const lines = logText.split('\n').filter((l) => l.includes('"msg":"node event"'))
      assert.equal(lines.length, 3)
      assert.ok(lines[2]?.includes('"event":{"source":"node","message":"counted"},"msg"'), lines[2])
      for (const line of lines.slice(0, 2)) {
        const time = (JSON.parse(line) as { time: number }).time
        assert.equal(
          line,
          `{"level":30,"time":${time},"pid":${process.pid},"hostname":${JSON.stringify(hostname())},` +
            `"event":${data},"msg":"node event"}`,
        )
      }
    })

    /** What a daemon at `logLevel` writes to its log while its node emits what `emit` emits. */
    const logOf = async (
      logLevel: NonNullable<NodeConfig['logLevel']>,
      emit: (node: FakeNode) => void,
    ): Promise<string> => {
      const node = createFakeNode()
      const logs = new PassThrough()
      let logText = ''
      logs.on('data', (c: Buffer) => (logText += c.toString('utf8')))
      const controller = new AbortController()
      let ready = false
      const exit = runNodeDaemon({
        configPath: 'node.json',
        env: {},
        io: { out: () => undefined, err: () => undefined },
        logStream: logs,
        signal: controller.signal,
        deps: {
          ...fakeDeps(node, { host: '127.0.0.1', port: 0 }),
          loadNodeConfig: async () => ({ ...baseConfig({ host: '127.0.0.1', port: 0 }), logLevel }),
        },
        onReady: () => (ready = true),
      })
      for (const end = Date.now() + 30_000; !ready && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.ok(ready)
      emit(node)
      controller.abort()
      assert.equal(await exit, 0)
      return logText
    }

    it('at logLevel warn logs no event', async () => {
      const logText = await logOf('warn', (node) => node.emit({ source: 'node', message: 'not logged' }))
      assert.ok(!logText.includes('node event'), logText)
      assert.ok(!logText.includes('"level":30'), logText)
    })

    /** The node events a daemon at `logLevel` logs of one step and a note, as [level, party event type or source]. */
    const loggedAt = async (logLevel: 'debug' | 'info'): Promise<[number, string][]> => {
      const channelId = KNOWN_CHANNEL
      const state = { channelId, version: 2n, appData: '0x' as const, balances: [1n, 2n], isFinal: false }
      const logText = await logOf(logLevel, (node) => {
        node.emit({
          source: 'party',
          channelId,
          event: { type: 'proposed', channelId, version: 2n, mover: 0 },
        })
        node.emit({
          source: 'party',
          channelId,
          event: { type: 'signed', channelId, version: 2n, digest: `0x${'11'.repeat(32)}` },
        })
        node.emit({
          source: 'party',
          channelId,
          event: { type: 'committed', channelId, state, signatures: [] },
        })
        node.emit({ source: 'node', message: 'a node note' })
      })
      return logText
        .split('\n')
        .filter((l) => l.includes('"msg":"node event"'))
        .map((l) => JSON.parse(l) as { level: number; event: { source: string; event?: { type: string } } })
        .map((l) => [l.level, l.event.event?.type ?? l.event.source])
    }

    it('at info a step logs one line, its commit; debug adds the proposal and the signature at level 20', async () => {
      assert.deepEqual(await loggedAt('info'), [
        [30, 'committed'],
        [30, 'node'],
      ])
      assert.deepEqual(await loggedAt('debug'), [
        [20, 'proposed'],
        [20, 'signed'],
        [30, 'committed'],
        [30, 'node'],
      ])
    })

    it('refuses to start on a non-loopback host without a token (exit 3) before reading the key or creating the node', async () => {
      const node = createFakeNode()
      const err: string[] = []
      let created = 0
      let keyReads = 0
      const code = await runNodeDaemon({
        configPath: 'node.json',
        env: {},
        io: { out: () => undefined, err: (l) => err.push(l) },
        logStream: new PassThrough(),
        signal: new AbortController().signal,
        deps: {
          ...fakeDeps(node, { host: '0.0.0.0', port: 0 }),
          readPassphrase: async () => {
            keyReads++
            return 'pw'
          },
          readKeystore: async () => {
            keyReads++
            return { address: NODE_ADDRESS } as Signer
          },
          createNode: async () => {
            created++
            return node
          },
        },
      })
      assert.equal(code, 3)
      assert.match(err.join('\n'), /could not start \(CONFIG\).*not loopback/)
      assert.equal(created, 0, 'the node is not even created')
      assert.equal(keyReads, 0, 'neither the passphrase nor the keystore is read')
    })

    it('a stop while the node is still starting exits 130 at once and closes the node once it is up', async () => {
      const node = createFakeNode()
      let finishCreating: (n: FakeNode) => void = () => undefined
      const controller = new AbortController()
      const err: string[] = []
      const exit = runNodeDaemon({
        configPath: 'node.json',
        env: {},
        io: { out: () => undefined, err: (l) => err.push(l) },
        logStream: new PassThrough(),
        signal: controller.signal,
        deps: {
          ...fakeDeps(node, { host: '127.0.0.1', port: 0 }),
          createNode: () => new Promise<FakeNode>((resolve) => (finishCreating = resolve)),
        },
      })
      await new Promise((r) => setTimeout(r, 50))
      controller.abort()
      assert.equal(await exit, 130)
      assert.deepEqual(err, ['chanvm node: interrupted while starting'])
      assert.deepEqual(node.calls, [])
      finishCreating(node)
      await new Promise((r) => setTimeout(r, 20))
      assert.deepEqual(node.calls, [{ method: 'close' }])
    })

    it('takes the token from the variable http.tokenEnv names', async () => {
      const node = createFakeNode()
      const controller = new AbortController()
      let url = ''
      const exit = runNodeDaemon({
        configPath: 'node.json',
        env: { MY_TOKEN: 'a-long-enough-api-token' },
        io: { out: () => undefined, err: () => undefined },
        logStream: new PassThrough(),
        signal: controller.signal,
        deps: fakeDeps(node, { host: '127.0.0.1', port: 0, tokenEnv: 'MY_TOKEN' }),
        onReady: (r) => (url = r.url),
      })
      for (const end = Date.now() + 30_000; url === '' && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.equal((await fetch(`${url}/v1/health`)).status, 401)
      const ok = await fetch(`${url}/v1/health`, {
        headers: { authorization: 'Bearer a-long-enough-api-token' },
      })
      assert.equal(ok.status, 200)
      controller.abort()
      assert.equal(await exit, 0)
    })

    it('chanvm node: --config is required (2), --help prints the usage (0), a missing file fails to start (3)', async () => {
      const lines: string[] = []
      const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) }
      assert.equal(await runNodeCommand([], io), 2)
      assert.equal(await runNodeCommand(['--config', 'a.json', 'extra'], io), 2)
      assert.equal(await runNodeCommand(['--help'], io), 0)
      assert.match(lines.join('\n'), /Usage: chanvm node --config FILE/)
      lines.length = 0
      const code = await runNodeCommand(
        ['--config', '/nonexistent/node.json'],
        io,
        new AbortController().signal,
      )
      assert.equal(code, 3)
      assert.match(lines.join('\n'), /CONFIG.*nonexistent/)
    })
  })

  describe('signals, in a child process whose node never finishes closing', function () {
    this.timeout(60_000)
    /** Runs runNodeDaemon (its own signal handlers) in a child with a recording node whose close() hangs. */
    const startChild = () => {
      const daemon = new URL('../../node/runNodeDaemon.ts', import.meta.url).href
      const fake = new URL('./httpFakeNode.ts', import.meta.url).href
      const script = `
        const { runNodeDaemon } = await import(${JSON.stringify(daemon)})
        const { createFakeNode } = await import(${JSON.stringify(fake)})
        const node = createFakeNode()
        node.close = () => new Promise(() => {})
        const config = {
          dataDir: '/x', keystore: 'k', broker: { url: 'mqtt://127.0.0.1:1' }, http: { port: 0 },
          chain: { rpcUrl: 'http://127.0.0.1:1', chainId: 1, adjudicator: '0x' + '00'.repeat(20) },
        }
        const code = await runNodeDaemon({ configPath: 'node.json', env: {}, drainTimeoutMs: 500, deps: {
          loadNodeConfig: async () => config, readPassphrase: async () => 'pw',
          readKeystore: async () => ({ address: node.address }), createNode: async () => node,
        } })
        process.exit(code)`
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      const ready = async () => {
        // Up to 30 s: starting tsx and the daemon in a child takes 9-10 s on a loaded 2-core machine.
        const deadline = Date.now() + 30_000
        while (Date.now() < deadline && !stdout.includes('ready') && child.exitCode === null)
          await new Promise((r) => setTimeout(r, 25))
        assert.match(stdout, /^chanvm node ready: /, stderr)
      }
      return { child, exited, ready, logs: () => stderr }
    }

    it('a second signal exits at once with 130', async () => {
      const { child, exited, ready } = startChild()
      try {
        await ready()
        child.kill('SIGTERM')
        await new Promise((r) => setTimeout(r, 100))
        child.kill('SIGINT')
        assert.equal(await exited, 130, 'without the second signal it exits 0 after the drain bound')
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL')
      }
    })

    it('one signal: a node that does not close within the bound is logged and the daemon still exits 0', async () => {
      const { child, exited, ready, logs } = startChild()
      try {
        await ready()
        child.kill('SIGTERM')
        assert.equal(await exited, 0)
        const messages = logs()
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { msg: string }).msg)
        assert.ok(messages.includes('the node did not close cleanly'), messages.join(', '))
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL')
      }
    })
  })

  describe('chanvm node --config as a child process, with a real node', function () {
    this.timeout(120_000)
    let chain: ChainFixture
    let broker: TestBroker
    let dir: string
    before(async () => {
      chain = await startChainFixture()
      broker = await startAedes()
      dir = await mkdtemp(join(tmpdir(), 'chanvm-daemon-'))
    })
    after(async () => {
      await broker?.stop()
      await chain?.stop()
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    })

    it('prints the ready line, serves GET /v1/health, exits 0 within 10 s of SIGTERM', async () => {
      const key = generatePrivateKey()
      await writeFile(join(dir, 'key.json'), await createKeystore(key, 'daemon test', { n: 1024 }))
      const config: NodeConfig = {
        dataDir: './data',
        keystore: './key.json',
        chain: {
          rpcUrl: chain.anvil.rpcUrl,
          chainId: chain.anvil.chainId,
          adjudicator: chain.deployment.adjudicator.address,
          pollingIntervalMs: 200,
        },
        broker: { url: broker.url },
        http: { host: '127.0.0.1', port: 0 },
      }
      await writeFile(join(dir, 'node.json'), JSON.stringify(config, null, 2))
      const child = spawn(process.execPath, [BIN, 'node', '--config', join(dir, 'node.json')], {
        env: { ...process.env, CHANVM_PASSPHRASE: 'daemon test', CHANVM_API_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      try {
        for (
          const end = Date.now() + 60_000;
          !stdout.includes('\n') && child.exitCode === null && Date.now() < end;
        ) {
          await new Promise((r) => setTimeout(r, 50))
        }
        const m = /^chanvm node ready: address (0x[0-9a-fA-F]{40}) api (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(
          stdout,
        )
        assert.ok(m !== null, `stdout: ${stdout}\nstderr: ${stderr}`)
        assert.equal(m[1], privateKeyToAddress(key))
        const health = await fetch(`${m[2]}/v1/health`)
        assert.equal(health.status, 200)
        assert.deepEqual(await health.json(), { status: 'ok', address: m[1], channels: 0 })
        const channels = await fetch(`${m[2]}/v1/channels`)
        assert.deepEqual(await channels.json(), { channels: [] })

        const started = Date.now()
        child.kill('SIGTERM')
        const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))])
        assert.equal(code, 0, `stderr: ${stderr}`)
        assert.ok(Date.now() - started < 10_000)
        const logs = stderr.trim().split('\n')
        for (const line of logs) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`)
        assert.ok(
          logs.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'stopped'),
          stderr,
        )
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL')
      }
    })
  })
})
