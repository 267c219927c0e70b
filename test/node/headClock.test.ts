// The clock a node evaluates off-chain steps at: the head its chain probe follows, read from
// memory. A step makes no chain RPC (counted through a proxy in front of anvil).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther } from 'viem'
import type { Env } from '../../engine/channel/types.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createHeadClock } from '../../node/createHeadClock.ts'
import { createNode } from '../../node/createNode.ts'
import type { ChanvmNode, NodeConfig, OpenRequest } from '../../node/types.ts'
import { startAedes, type TestBroker } from '../oracles/brokers.ts'
import { startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'

const env = (n: bigint): Env => ({ blockNumber: n, timestamp: 1_700_000_000n + n })

describe('createHeadClock', () => {
  it('answers a head seen within maxAgeMs from memory, without reading', async () => {
    let reads = 0
    let now = 1_000
    const head = createHeadClock({
      readHead: async () => (reads++, env(9n)),
      maxAgeMs: 500,
      nowMs: () => now,
    })
    head.see(env(7n))
    now += 500
    assert.deepEqual(await head.now(), env(7n))
    assert.equal(reads, 0)
  })

  it('reads the chain once for every caller when the head it holds is too old, then serves that', async () => {
    let reads = 0
    let now = 1_000
    let release: (e: Env) => void = () => undefined
    const head = createHeadClock({
      readHead: () => (reads++, new Promise<Env>((r) => (release = r))),
      maxAgeMs: 500,
      nowMs: () => now,
    })
    head.see(env(7n))
    now += 501
    const waiting = [head.now(), head.now(), head.now()]
    release(env(8n))
    assert.deepEqual(await Promise.all(waiting), [env(8n), env(8n), env(8n)])
    assert.equal(reads, 1)
    assert.deepEqual(await head.now(), env(8n))
    assert.equal(reads, 1)
  })

  it('reads at the first step when nothing was seen yet', async () => {
    let reads = 0
    const head = createHeadClock({ readHead: async () => (reads++, env(3n)), maxAgeMs: 60_000 })
    assert.equal(head.latest(), undefined)
    assert.deepEqual(await head.now(), env(3n))
    assert.equal(reads, 1)
    assert.deepEqual(head.latest()?.head, env(3n))
  })

  it('refresh reads the chain whatever the age of the head it holds', async () => {
    let reads = 0
    const head = createHeadClock({ readHead: async () => (reads++, env(5n)), maxAgeMs: 60_000 })
    head.see(env(4n))
    assert.deepEqual(await head.refresh(), env(5n))
    assert.equal(reads, 1)
    assert.deepEqual(await head.now(), env(5n))
  })

  it('does not go back to a lower block when an endpoint answers behind', async () => {
    const head = createHeadClock({ readHead: async () => env(0n), maxAgeMs: 60_000 })
    head.see(env(12n))
    head.see(env(11n))
    assert.deepEqual(await head.now(), env(12n))
  })
})

/** A JSON-RPC proxy in front of `target` that counts the methods it forwards. */
async function countingProxy(
  target: string,
): Promise<{ url: string; counts: Map<string, number>; close(): Promise<void> }> {
  const counts = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const parsed = JSON.parse(body) as { method: string } | { method: string }[]
      for (const m of Array.isArray(parsed) ? parsed : [parsed])
        counts.set(m.method, (counts.get(m.method) ?? 0) + 1)
      fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' })
          res.end(await r.text())
        })
        .catch(() => {
          res.writeHead(502)
          res.end()
        })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

describe('a node evaluates off-chain steps at the head it follows', function () {
  this.timeout(120_000)
  let f: ChainFixture
  let broker: TestBroker
  let proxy: Awaited<ReturnType<typeof countingProxy>>
  let dir: string
  const nodes: ChanvmNode[] = []

  before(async () => {
    f = await startChainFixture()
    broker = await startAedes()
    proxy = await countingProxy(f.anvil.rpcUrl)
    dir = mkdtempSync(join(tmpdir(), 'chanvm-head-'))
  })
  after(async () => {
    for (const n of nodes) await n.close().catch(() => undefined)
    await proxy?.close()
    await broker?.stop()
    await f?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('co-signs steps without reading a block: the chain probe alone reads the head', async () => {
    const escrow = f.deployment.apps['Escrow']
    assert(escrow)
    // A long polling interval: the probe reads the head about once in 2 s, the steps below are many more.
    const config = (who: 'alice' | 'bob'): NodeConfig => ({
      dataDir: join(dir, who),
      keystore: join(dir, `${who}.key.json`),
      chain: {
        rpcUrl: proxy.url,
        chainId: f.anvil.chainId,
        adjudicator: f.deployment.adjudicator.address,
        pollingIntervalMs: 2_000,
        apps: { escrow: escrow.address },
      },
      broker: { url: broker.url },
      responseTimeoutMs: 10_000,
    })
    const alice = await createNode({ config: config('alice'), signer: createKeySigner(f.alice.privateKey) })
    nodes.push(alice)
    const bob = await createNode({ config: config('bob'), signer: createKeySigner(f.bob.privateKey) })
    nodes.push(bob)
    const nonce = BigInt(Date.now())
    const request = (role: 'first' | 'second'): OpenRequest => ({
      app: 'escrow',
      counterparty: role === 'first' ? f.bob.address : f.alice.address,
      role,
      balances: [parseEther('1'), 0n],
      nonce,
      challengeDuration: 3_600n,
      terms: { arbiter: f.arbiter.address },
    })
    const [opened] = await Promise.all([alice.open(request('first')), bob.open(request('second'))])
    const deadline = (await f.now()) + 3_600n
    const steps = 40
    const t0 = Date.now()
    const before = proxy.counts.get('eth_getBlockByNumber') ?? 0
    for (let i = 0; i < steps; i++) {
      const r = await alice.act(
        opened.channelId,
        i % 2 === 0
          ? { app: 'escrow', type: 'fund', amount: 1n, deadline }
          : { app: 'escrow', type: 'release' },
      )
      assert(r.ok, r.ok ? '' : r.reason)
    }
    const reads = (proxy.counts.get('eth_getBlockByNumber') ?? 0) - before
    // The probes read the head once per polling interval per node (plus a read when a probe is
    // late): the bound follows the time the steps took, on a loaded machine too. A clock read per
    // step would be two reads a step (the mover's and the peer's): 80 here.
    const probes = 2 * (Math.ceil((Date.now() - t0) / 2_000) + 2)
    assert.ok(reads <= probes + 4, `${reads} block reads during ${steps} co-signed steps (probes: ${probes})`)
    assert.ok(reads < 2 * steps)
    // Bob commits the last step just after he answers it.
    await bob.party.waitForVersion(opened.channelId, BigInt(steps), 10_000)
    assert.equal((await bob.show(opened.channelId)).version, BigInt(steps))
  })
})
