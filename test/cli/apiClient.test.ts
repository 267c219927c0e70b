// The API client against a real HTTP server on loopback, through each of its transports: node:http
// (keep-alive), undici's Pool and a given fetch. All send the same requests and give the same
// typed answers and errors.
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { getEventListeners, once } from 'node:events'
import { createServer, type Server } from 'node:http'
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

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
const stop = async (server: Server): Promise<void> => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
}

const TRANSPORTS = {
  'node:http': { undiciAfter: Infinity },
  undici: { undiciAfter: 0 },
  fetch: { fetch: globalThis.fetch },
} as const

for (const transport of ['node:http', 'undici', 'fetch'] as const) {
  describe(`API client through ${transport}`, () => {
    let node: CannedNode | undefined
    const client = (url: string, more: Partial<ApiClientOptions> = {}) =>
      createApiClient({ url, ...TRANSPORTS[transport], ...more })
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
          transport === 'node:http' ? /ECONNRESET/ : /UND_ERR_SOCKET/,
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
      // Long enough for an answer on a loaded machine, short beside the 5 s the slow route takes.
      const api = client(node.url, { signal, timeoutMs: 1_000 })
      for (let i = 0; i < 3; i++) assert.equal((await api.health()).channels, 3)
      await rejectsWith(api.listChannels(), 0, 'TIMEOUT')
      assert.equal(getEventListeners(signal, 'abort').length, 0)
    })

    it('reads an answer whose characters are split across its chunks', async () => {
      const text = JSON.stringify({ status: 'ünïcødé €✓', address: '0xa1', channels: 3 })
      const bytes = Buffer.from(text, 'utf8')
      const cut = bytes.indexOf(Buffer.from('€')) + 1
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) })
        res.write(bytes.subarray(0, cut))
        setTimeout(() => res.end(bytes.subarray(cut)), 20)
      })
      try {
        assert.equal((await client(await listen(server)).health()).status, 'ünïcødé €✓')
      } finally {
        await stop(server)
      }
    })

    if (transport !== 'fetch') {
      it('does not follow a redirect: the 3xx is the answer', async () => {
        node = await startCannedNode({
          'GET /v1/health': { status: 302, body: {} },
          'GET /elsewhere': { body: { status: 'ok', address: '0xa1', channels: 3 } },
        })
        await rejectsWith(client(node.url).health(), 302, 'HTTP_302')
        assert.deepEqual(node.calls(), ['GET /v1/health'])
      })

      /**
       * Milliseconds from the client's answer to its FIN, on a server whose keep-alive timeout is
       * `keepAliveTimeout` (0: none announced, the server never closes).
       */
      const idleUntilClientCloses = async (keepAliveTimeout: number): Promise<number> => {
        const server = createServer((_req, res) => res.end('{"status":"ok","address":"0xa1","channels":1}'))
        server.keepAliveTimeout = keepAliveTimeout
        const url = await listen(server)
        try {
          const connected = once(server, 'connection') as Promise<[import('node:net').Socket]>
          assert.equal((await client(url).health()).channels, 1)
          const [socket] = await connected
          const answered = Date.now()
          await once(socket, 'end') // the client's FIN
          return Date.now() - answered
        } finally {
          await stop(server)
        }
      }

      it("closes an idle connection before the server's announced keep-alive timeout", async () => {
        const idle = await idleUntilClientCloses(2_000) // announced as `Keep-Alive: timeout=2`
        assert.ok(idle < 1_800, `closed by the client after ${idle} ms`)
      })

      it('closes a connection idle for 4 s when the server announces no timeout', async () => {
        const idle = await idleUntilClientCloses(0) // no Keep-Alive header, no closing by the server
        assert.ok(idle >= 3_500 && idle < 6_000, `closed by the client after ${idle} ms`)
      })
    }
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

  it('makes its first 16 requests through node:http, the later ones through undici', async () => {
    const node = await startCannedNode({ [`POST /v1/channels/${ID}/actions`]: { body: signed } })
    let throughUndici = 0
    const count = () => throughUndici++
    subscribe('undici:request:create', count)
    try {
      const api = createApiClient({ url: node.url })
      const seen: number[] = []
      for (let i = 0; i < 20; i++) {
        assert.equal((await api.act(ID, { action: 'release', args: {} })).version, 8n)
        seen.push(throughUndici)
      }
      assert.deepEqual(seen, [...Array(16).fill(0), 1, 2, 3, 4])
      assert.equal(node.requests.length, 20)
      // One of node:http, and undici's two: it reuses a connection an event-loop turn after its
      // answer, so a request sent right after the answer before it takes the other one.
      assert.equal(node.connections(), 3)
    } finally {
      unsubscribe('undici:request:create', count)
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
