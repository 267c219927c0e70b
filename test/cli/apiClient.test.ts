// The API client against a real HTTP server on loopback, through both of its transports: its own
// (node:http, keep-alive) and a given fetch. Both send the same requests and give the same typed
// answers and errors.
import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApiError, createApiClient, type ApiClientOptions } from '../../cli/apiClient.ts'
import { startCannedNode, type CannedNode } from './support.ts'

const ID = `0x${'cd'.repeat(32)}` as const
const TOKEN = 'a-token-of-twenty-chars'
const signed = {
  ok: true,
  signed: { state: { version: '8', balances: ['999999999999999999', '1'], isFinal: false }, signatures: [] },
  gasUsed: '51234',
}

const rejectsWith = async (p: Promise<unknown>, status: number, code: string, message?: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e))
    assert.equal(e.status, status)
    assert.equal(e.code, code)
    if (message !== undefined) assert.match(e.message, message)
    return true
  })

for (const transport of ['node:http', 'fetch'] as const) {
  describe(`API client through ${transport}`, () => {
    let node: CannedNode | undefined
    const client = (url: string, more: Partial<ApiClientOptions> = {}) =>
      createApiClient({ url, ...(transport === 'fetch' ? { fetch: globalThis.fetch } : {}), ...more })
    afterEach(async () => {
      await node?.close()
      node = undefined
    })

    it('sends an action as JSON with bigints as decimal strings and the token, and reads the co-signed state', async () => {
      node = await startCannedNode({ [`POST /v1/channels/${ID}/actions`]: { body: signed } })
      const api = client(`${node.url}/`, { token: TOKEN })
      const result = await api.act(ID, { action: 'fund', args: { amount: 2n ** 200n, deadline: 7n } })
      assert.deepEqual(
        { ok: result.ok, version: result.version, balances: result.balances, gasUsed: result.gasUsed },
        { ok: true, version: 8n, balances: [999999999999999999n, 1n], gasUsed: 51234n },
      )
      const [req] = node.requests
      assert.equal(
        req?.body !== undefined && JSON.stringify(req.body),
        JSON.stringify({
          action: 'fund',
          args: { amount: (2n ** 200n).toString(), deadline: '7' },
        }),
      )
      assert.equal(req?.headers['authorization'], `Bearer ${TOKEN}`)
      assert.equal(req?.headers['content-type'], 'application/json')
      assert.equal(req?.headers['accept'], 'application/json')
    })

    it('sends bigints as decimal strings wherever JSON.stringify meets them: deep, in lists, from toJSON', async () => {
      node = await startCannedNode({ [`POST /v1/channels/${ID}/actions`]: { body: signed } })
      const api = client(node.url)
      let deep: unknown = { bottom: 5n }
      for (let i = 0; i < 20; i++) deep = { down: deep }
      const args = { deep, list: ['1', [2n]], when: { toJSON: () => 3n }, plain: 'x', n: 4 }
      await api.act(ID, { action: 'note', args } as never)
      await api.act(ID, { action: 'note', args: { plain: 'x', list: ['1', ['2']] } })
      const [withBigints, without] = node.requests.map((r) => JSON.stringify(r.body))
      assert.equal(
        withBigints,
        JSON.stringify({ action: 'note', args }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      )
      assert.ok(withBigints?.includes('{"bottom":"5"}') && withBigints.includes('"when":"3"'), withBigints)
      assert.equal(without, '{"action":"note","args":{"plain":"x","list":["1",["2"]]}}')
    })

    it('a GET carries no body and no content type', async () => {
      node = await startCannedNode({
        'GET /v1/health': { body: { status: 'ok', address: '0xa1', channels: 3 } },
      })
      assert.deepEqual(await client(node.url).health(), { status: 'ok', address: '0xa1', channels: 3 })
      assert.equal(node.requests[0]?.headers['content-type'], undefined)
      assert.equal(node.requests[0]?.headers['authorization'], undefined)
      assert.equal(node.requests[0]?.body, undefined)
    })

    it("an error answer is an ApiError with the node's status, code, message, details and the step's reason", async () => {
      const details = {
        ok: false,
        reason: 'step-rejected',
        step: { ok: false, message: 'Overspend(100, 50)' },
      }
      node = await startCannedNode({
        [`POST /v1/channels/${ID}/actions`]: {
          status: 409,
          body: { error: { code: 'STEP_REJECTED', message: 'the app rejected the step', details } },
        },
        'GET /v1/channels': { status: 502, body: 'gateway trouble' },
      })
      const api = client(node.url)
      await assert.rejects(api.act(ID, { action: 'fund', args: {} }), (e: unknown) => {
        assert.ok(e instanceof ApiError)
        assert.deepEqual(
          [e.status, e.code, e.message, e.details],
          [409, 'STEP_REJECTED', 'the app rejected the step: Overspend(100, 50)', details],
        )
        return true
      })
      await rejectsWith(api.listChannels(), 502, 'HTTP_502', /^GET \/v1\/channels: HTTP 502$/)
    })

    it('an answer that is not JSON, or not of the expected shape, is BAD_RESPONSE', async () => {
      node = await startCannedNode({
        'GET /v1/health': { body: 'not json{' },
        [`GET /v1/channels/${ID}`]: { body: { channelId: ID, app: 7 } },
      })
      const api = client(node.url)
      await rejectsWith(api.health(), 0, 'BAD_RESPONSE', /the answer is not JSON/)
      await rejectsWith(api.getChannel(ID), 0, 'BAD_RESPONSE', /channel\.app: expected a string/)
    })

    it('a node that is not listening is UNREACHABLE, naming the refusal', async () => {
      node = await startCannedNode({})
      const { url } = node
      await node.close()
      node = undefined
      await rejectsWith(client(url).health(), 0, 'UNREACHABLE', /ECONNREFUSED/)
    })

    it('an answer cut off halfway is UNREACHABLE at once, naming the reset', async () => {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
        res.write('{"status":')
        setTimeout(() => res.socket?.destroy(), 20)
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const { port } = server.address() as AddressInfo
        const started = Date.now()
        await rejectsWith(
          client(`http://127.0.0.1:${port}`, { timeoutMs: 5_000 }).health(),
          0,
          'UNREACHABLE',
          transport === 'fetch' ? /UND_ERR_SOCKET/ : /ECONNRESET/,
        )
        assert.ok(Date.now() - started < 2_000)
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })

    it('a node that does not answer in time is TIMEOUT, at the time limit', async () => {
      node = await startCannedNode({ 'GET /v1/health': { body: {}, delayMs: 5_000 } })
      const started = Date.now()
      await rejectsWith(client(node.url, { timeoutMs: 200 }).health(), 0, 'TIMEOUT', /within 200 ms/)
      const took = Date.now() - started
      assert.ok(took >= 190 && took < 2_000, `${took} ms`)
    })

    it("the caller's signal ends a request at once, as UNREACHABLE", async () => {
      node = await startCannedNode({ 'GET /v1/health': { body: {}, delayMs: 5_000 } })
      const controller = new AbortController()
      const started = Date.now()
      const pending = client(node.url, { signal: controller.signal }).health()
      setTimeout(() => controller.abort(), 100)
      await rejectsWith(pending, 0, 'UNREACHABLE')
      assert.ok(Date.now() - started < 2_000)
      await rejectsWith(client(node.url, { signal: controller.signal }).health(), 0, 'UNREACHABLE')
    })

    it("a request that ends, answered or timed out, leaves no listener on the caller's signal", async () => {
      node = await startCannedNode({
        'GET /v1/health': { body: { status: 'ok', address: '0xa1', channels: 3 } },
        'GET /v1/channels': { body: { channels: [] }, delayMs: 5_000 },
      })
      const { signal } = new AbortController()
      const api = client(node.url, { signal, timeoutMs: 200 })
      for (let i = 0; i < 3; i++) assert.equal((await api.health()).channels, 3)
      await rejectsWith(api.listChannels(), 0, 'TIMEOUT')
      assert.equal(getEventListeners(signal, 'abort').length, 0)
    })
  })
}

describe('API client without a given fetch', () => {
  it('requests one after the other share one kept-alive connection', async () => {
    const node = await startCannedNode({ [`POST /v1/channels/${ID}/actions`]: { body: signed } })
    try {
      const api = createApiClient({ url: node.url })
      for (let i = 0; i < 5; i++)
        assert.equal((await api.act(ID, { action: 'release', args: {} })).version, 8n)
      assert.equal(node.requests.length, 5)
      assert.equal(node.connections(), 1)
    } finally {
      await node.close()
    }
  })

  it('does not use fetch', async () => {
    const node = await startCannedNode({
      'GET /v1/health': { body: { status: 'ok', address: '0xa1', channels: 0 } },
    })
    const original = globalThis.fetch
    globalThis.fetch = () => Promise.reject(new Error('fetch was called'))
    try {
      assert.equal((await createApiClient({ url: node.url }).health()).status, 'ok')
    } finally {
      globalThis.fetch = original
      await node.close()
    }
  })
})
