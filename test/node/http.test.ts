// The node's HTTP API against a recording node: valid requests reach the node with the right
// bigints, invalid ones (schema, token, caller, size) are answered 400/401/403/413 and never reach
// it, node errors map to one JSON error shape, the OpenAPI document lists every route, metrics
// parse as Prometheus text, and server-sent events arrive over a real socket.
import assert from 'node:assert/strict'
import { get, type IncomingMessage } from 'node:http'
import fc from 'fast-check'
import { Ajv } from 'ajv'
import { ChanvmError } from '../../engine/errors.ts'
import { createApiServer, type ApiServer } from '../../node/http/createApiServer.ts'
import { Validator } from '@seriousme/openapi-schema-validator'
import { channelSummarySchema, disputePlanSchema, NAMED_SCHEMAS } from '../../node/http/schemas.ts'
import { createFakeNode, KNOWN_CHANNEL, NODE_ADDRESS, PEER_ADDRESS, type FakeNode } from './httpFakeNode.ts'

const TOKEN = 'test-token-0123456789abcdef'
const UNKNOWN_CHANNEL = `0x${'cd'.repeat(32)}`
const json = (body: string): unknown => JSON.parse(body)
/** An ajv that knows the named schemas, as the OpenAPI document refers to them. */
const namedAjv = () => {
  const ajv = new Ajv({ strict: false })
  for (const schema of NAMED_SCHEMAS) ajv.addSchema(schema)
  return ajv
}

const openBody = {
  app: 'escrow',
  counterparty: PEER_ADDRESS,
  role: 'first',
  balances: ['1000000000000000000', '0'],
  nonce: '42',
  challengeDuration: '3600',
  terms: { arbiter: '0x00000000000000000000000000000000000000c3' },
}

describe('HTTP API', function () {
  let node: FakeNode
  let app: ApiServer

  beforeEach(async () => {
    node = createFakeNode()
    app = await createApiServer({ node, host: '127.0.0.1', port: 0, logger: false })
  })
  afterEach(() => app.close())

  describe('routes', () => {
    it('GET /v1/health answers with the node address and channel count', async () => {
      const res = await app.inject({ url: '/v1/health' })
      assert.equal(res.statusCode, 200)
      assert.deepEqual(res.json(), { status: 'ok', address: NODE_ADDRESS, channels: 1 })
    })

    it('GET /v1/channels and /v1/channels/:id send bigints as decimal strings that match the schema', async () => {
      const list = await app.inject({ url: '/v1/channels' })
      assert.equal(list.statusCode, 200)
      const channels = (list.json() as { channels: unknown[] }).channels
      assert.equal(channels.length, 1)
      const one = await app.inject({ url: `/v1/channels/${KNOWN_CHANNEL}` })
      assert.equal(one.statusCode, 200)
      const body = one.json() as { version: string; balances: string[] }
      assert.equal(body.version, '7')
      assert.deepEqual(body.balances, ['1000000000000000000', (2n ** 200n).toString()])
      const ajv = namedAjv()
      assert.ok(ajv.validate(channelSummarySchema.$id, body), ajv.errorsText())
      assert.deepEqual(channels[0], body)
    })

    it('an upper-case channel id is passed to the node in lower case', async () => {
      const res = await app.inject({ url: `/v1/channels/${KNOWN_CHANNEL.toUpperCase().replace('0X', '0x')}` })
      assert.equal(res.statusCode, 200)
      assert.deepEqual(node.calls, [{ method: 'show', channelId: KNOWN_CHANNEL }])
    })

    it('POST /v1/channels converts amounts to bigints and answers 201', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/channels',
        payload: { ...openBody, deposit: false },
      })
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(node.calls, [
        {
          method: 'open',
          request: {
            ...openBody,
            balances: [10n ** 18n, 0n],
            nonce: 42n,
            challengeDuration: 3600n,
            deposit: false,
          },
        },
      ])
    })

    it('POST /v1/channels/:id/actions passes each kind of action with its fields as the node types them', async () => {
      const signature = `0x${'5a'.repeat(65)}`
      const cases: [Record<string, unknown>, unknown][] = [
        [
          { app: 'escrow', type: 'fund', amount: '5000', deadline: '1900000000' },
          { app: 'escrow', type: 'fund', amount: '5000', deadline: '1900000000' },
        ],
        [
          { app: 'escrow', action: 'fund', args: { amount: '5000', deadline: 1900000000 } },
          { app: 'escrow', action: 'fund', args: { amount: '5000', deadline: 1900000000 } },
        ],
        [
          { action: 'anything', args: { n: '1' } },
          { action: 'anything', args: { n: '1' } },
        ],
        [
          { app: 'escrow', type: 'ruling', toPayee: false, arbiterSignature: signature },
          { app: 'escrow', type: 'ruling', toPayee: false, arbiterSignature: signature },
        ],
        [
          { app: 'tv-delivery', type: 'claim' },
          { app: 'tv-delivery', type: 'claim' },
        ],
        [
          { app: 'cold-chain', type: 'report' },
          { app: 'cold-chain', type: 'report' },
        ],
      ]
      for (const [payload, action] of cases) {
        node.calls = []
        const res = await app.inject({
          method: 'POST',
          url: `/v1/channels/${KNOWN_CHANNEL}/actions`,
          payload,
        })
        assert.equal(res.statusCode, 200, res.body)
        assert.deepEqual(node.calls, [{ method: 'act', channelId: KNOWN_CHANNEL, action }])
        const result = res.json() as { ok: boolean; gasUsed: string }
        assert.deepEqual([result.ok, result.gasUsed], [true, '51234'])
      }
    })

    it("a co-signed action's answer is its UpdateResult JSON, bigints as decimal strings, nothing the schema does not name", async () => {
      const state = {
        channelId: KNOWN_CHANNEL,
        version: 2n ** 70n,
        balances: [2n ** 200n, 0n],
        appData: '0x00ff' as const,
        isFinal: true,
      }
      const signatures = [`0x${'11'.repeat(65)}`, `0x${'22'.repeat(65)}`] as const
      node.actResult = { ok: true, signed: { state, signatures }, gasUsed: 51_234n }
      const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
      const res = await app.inject({ method: 'POST', url, payload: { app: 'escrow', type: 'release' } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      const expected = {
        ok: true,
        signed: {
          state: { ...state, version: (2n ** 70n).toString(), balances: [(2n ** 200n).toString(), '0'] },
          signatures,
        },
        gasUsed: '51234',
      }
      assert.equal(res.body, JSON.stringify(expected))
      const ajv = namedAjv()
      assert.ok(ajv.validate('UpdateResult', res.json()), ajv.errorsText())
      node.actResult = {
        ok: true,
        signed: { state: { ...state, extra: 1 } as never, signatures },
        gasUsed: 51_234n,
      }
      const more = await app.inject({ method: 'POST', url, payload: { app: 'escrow', type: 'release' } })
      assert.equal(more.body, JSON.stringify(expected))
      // A co-signed result the schema's serializer cannot write (here without gasUsed) still goes
      // out, whole, with 200: the step is co-signed, and an error would make a client act again.
      node.actResult = { ok: true, signed: { state, signatures } } as never
      const short = await app.inject({ method: 'POST', url, payload: { app: 'escrow', type: 'release' } })
      assert.equal(short.statusCode, 200, short.body)
      assert.equal(short.body, JSON.stringify({ ok: true, signed: expected.signed }))
    })

    it('dispute: GET plans, POST takes the step, with force only when asked', async () => {
      const got = await app.inject({ url: `/v1/channels/${KNOWN_CHANNEL}/dispute` })
      assert.equal(got.statusCode, 200)
      const ajv = namedAjv()
      assert.ok(ajv.validate(disputePlanSchema.$id, got.json()), ajv.errorsText())
      assert.equal((got.json() as { next: { feeWei: string } }).next.feeWei, '300000000000000')
      const bare = await app.inject({ method: 'POST', url: `/v1/channels/${KNOWN_CHANNEL}/dispute` })
      assert.equal(bare.statusCode, 200, bare.body)
      const forced = await app.inject({
        method: 'POST',
        url: `/v1/channels/${KNOWN_CHANNEL}/dispute`,
        payload: { force: true },
      })
      assert.equal(forced.statusCode, 200)
      assert.deepEqual(node.calls.slice(1), [
        { method: 'disputeStep', channelId: KNOWN_CHANNEL, options: {} },
        { method: 'disputeStep', channelId: KNOWN_CHANNEL, options: { force: true } },
      ])
    })
  })

  describe('bad input never reaches the node', () => {
    const badOpen: [string, Record<string, unknown>][] = [
      ['a missing field', { ...openBody, nonce: undefined }],
      ['an app name that is not one', { ...openBody, app: 'Poker Night' }],
      ['a short address', { ...openBody, counterparty: '0x1234' }],
      ['a decimal fraction', { ...openBody, balances: ['1.5', '0'] }],
      ['a negative amount', { ...openBody, balances: ['-1', '0'] }],
      ['a number instead of a string', { ...openBody, nonce: 42 }],
      ['three balances', { ...openBody, balances: ['1', '2', '3'] }],
      ['an extra property', { ...openBody, admin: true }],
      ['a term of the wrong type', { ...openBody, terms: { arbiter: { nested: 1 } } }],
    ]
    for (const [what, payload] of badOpen) {
      it(`POST /v1/channels with ${what}: 400 VALIDATION`, async () => {
        const res = await app.inject({ method: 'POST', url: '/v1/channels', payload })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal((res.json() as { error: { code: string } }).error.code, 'VALIDATION')
        assert.deepEqual(node.calls, [])
      })
    }

    it('an amount beyond 2^256 is 400 INVALID_ARGUMENT, not a wrapped number', async () => {
      const payload = { ...openBody, balances: [(2n ** 256n).toString(), '0'] }
      const res = await app.inject({ method: 'POST', url: '/v1/channels', payload })
      assert.equal(res.statusCode, 400)
      assert.deepEqual(res.json(), {
        error: { code: 'INVALID_ARGUMENT', message: 'balances[0] does not fit in 256 bits' },
      })
      assert.deepEqual(node.calls, [])
    })

    it('POST /v1/channels with an app the node does not run: 400 INVALID_ARGUMENT', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/channels',
        payload: { ...openBody, app: 'poker' },
      })
      assert.equal(res.statusCode, 400, res.body)
      const { error } = res.json() as { error: { code: string; message: string } }
      assert.equal(error.code, 'INVALID_ARGUMENT')
      assert.match(error.message, /app must be one of .*escrow/)
      assert.deepEqual(node.calls, [])
    })

    // Shapes the schema refuses (VALIDATION) and arguments the app's ABI types refuse
    // (INVALID_ARGUMENT, naming the argument and its type): neither reaches the node.
    const badActions: [string, unknown, string, RegExp, string[]?][] = [
      [
        'an unknown type',
        { app: 'escrow', type: 'steal' },
        'INVALID_ARGUMENT',
        /escrow has no action steal \(it has fund/,
      ],
      [
        'a type of another app',
        { app: 'escrow', type: 'premium' },
        'INVALID_ARGUMENT',
        /escrow has no action premium/,
      ],
      ['an unknown app', { app: 'poker', type: 'fold' }, 'INVALID_ARGUMENT', /app must be one of/],
      [
        'a missing deadline',
        { app: 'escrow', type: 'fund', amount: '5' },
        'INVALID_ARGUMENT',
        /fund: deadline is missing/,
        ['argument: deadline', 'expected: uint64'],
      ],
      [
        'an amount beyond uint256',
        { app: 'escrow', type: 'fund', amount: (2n ** 256n).toString(), deadline: '9' },
        'INVALID_ARGUMENT',
        /amount must be a uint256/,
        ['argument: amount', 'expected: uint256'],
      ],
      [
        'an extra field',
        { app: 'cold-chain', type: 'close', amount: '1' },
        'INVALID_ARGUMENT',
        /amount is not an argument of close/,
        ['argument: amount'],
      ],
      [
        'a short signature',
        { app: 'escrow', type: 'ruling', toPayee: true, arbiterSignature: '0xabc' },
        'INVALID_ARGUMENT',
        /arbiterSignature must be a bytes/,
        ['argument: arbiterSignature', 'expected: bytes'],
      ],
      [
        'a text bool',
        { app: 'escrow', action: 'ruling', args: { toPayee: 'maybe', arbiterSignature: '0x' } },
        'INVALID_ARGUMENT',
        /toPayee must be a bool/,
        ['argument: toPayee', 'expected: bool'],
      ],
      ['an array', [{ app: 'escrow', type: 'close' }], 'VALIDATION', /object/],
      ['no type', { app: 'escrow' }, 'VALIDATION', /type|action/],
    ]
    for (const [what, payload, code, message, details] of badActions) {
      it(`an action with ${what}: 400 naming the problem`, async () => {
        const res = await app.inject({
          method: 'POST',
          url: `/v1/channels/${KNOWN_CHANNEL}/actions`,
          payload: payload as object,
        })
        assert.equal(res.statusCode, 400, res.body)
        const { error } = res.json() as { error: { code: string; message: string; details?: string[] } }
        assert.equal(error.code, code, res.body)
        assert.match(error.message, message)
        if (details !== undefined) assert.deepEqual(error.details, details)
        assert.deepEqual(node.calls, [])
      })
    }

    it('a malformed channel id, force of the wrong type, an unknown query field: 400', async () => {
      for (const [method, url, payload] of [
        ['GET', '/v1/channels/0x1234'],
        ['GET', `/v1/channels/${KNOWN_CHANNEL}00`],
        ['POST', `/v1/channels/${KNOWN_CHANNEL}/dispute`, { force: 'yes' }],
        ['POST', `/v1/channels/${KNOWN_CHANNEL}/dispute`, { force: true, gasPrice: '1' }],
        ['GET', '/v1/events?channel=0x12'],
        ['GET', '/v1/events?channelId=0x12'],
      ] as const) {
        const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })
        assert.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`)
      }
      assert.deepEqual(node.calls, [])
    })

    it("a schema refusal's message names each failed rule in fastify's words", async () => {
      for (const [method, url, payload, message] of [
        ['GET', '/v1/channels/0x1234', undefined, 'params/id must match pattern "^0x[0-9a-fA-F]{64}$"'],
        ['POST', `/v1/channels/${KNOWN_CHANNEL}/dispute`, { force: 'yes' }, 'body/force must be boolean'],
        [
          'POST',
          `/v1/channels/${KNOWN_CHANNEL}/actions`,
          { nope: 1 },
          "body must have required property 'action', body must have required property 'type', body must match a schema in anyOf",
        ],
      ] as const) {
        const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })
        assert.equal(res.statusCode, 400)
        assert.deepEqual(res.json(), { error: { code: 'VALIDATION', message } })
      }
      assert.deepEqual(node.calls, [])
    })

    it('malformed JSON is 400, another content type 415', async () => {
      const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
      const broken = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{"app":"escrow",',
      })
      assert.equal(broken.statusCode, 400)
      assert.equal((broken.json() as { error: { code: string } }).error.code, 'INVALID_JSON')
      const text = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'text/plain' },
        payload: 'x',
      })
      assert.equal(text.statusCode, 415)
      assert.equal((text.json() as { error: { code: string } }).error.code, 'UNSUPPORTED_MEDIA_TYPE')
      const empty = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: '',
      })
      assert.equal(empty.statusCode, 400)
      for (const res of [broken, text, empty]) {
        const { code } = (res.json() as { error: { code: string } }).error
        assert.doesNotMatch(code, /^FST_/, 'a framework code never reaches a client')
        assert.match(code, /^[A-Z][A-Z0-9_]*$/)
      }
      assert.deepEqual(node.calls, [])
    })

    it('a body over the limit is 413 BODY_TOO_LARGE', async () => {
      const payload = { ...openBody, terms: { note: 'x'.repeat(70 * 1024) } }
      const res = await app.inject({ method: 'POST', url: '/v1/channels', payload })
      assert.equal(res.statusCode, 413)
      assert.equal((res.json() as { error: { code: string } }).error.code, 'BODY_TOO_LARGE')
      assert.deepEqual(node.calls, [])
    })

    it('property: any JSON body either reaches the node as a well-typed action or is refused with 400', async () => {
      const valid = new Set([
        'escrow/fund',
        'escrow/release',
        'escrow/ruling',
        'escrow/refund',
        'escrow/close',
        'tv-delivery/pay',
        'tv-delivery/claim',
        'tv-delivery/refund',
        'tv-delivery/close',
        'cold-chain/premium',
        'cold-chain/report',
        'cold-chain/close',
      ])
      const field = fc.oneof(
        fc.constantFrom(
          'escrow',
          'tv-delivery',
          'cold-chain',
          'fund',
          'close',
          'release',
          'report',
          'ruling',
        ),
        fc.jsonValue(),
      )
      const body = fc.record(
        {
          app: field,
          type: field,
          amount: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 300n }).map(String), fc.jsonValue()),
          deadline: fc.oneof(fc.nat().map(String), fc.jsonValue()),
          toPayee: fc.oneof(fc.boolean(), fc.jsonValue()),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      await fc.assert(
        fc.asyncProperty(body, async (payload) => {
          node.calls = []
          const res = await app.inject({
            method: 'POST',
            url: `/v1/channels/${KNOWN_CHANNEL}/actions`,
            payload: payload as object,
          })
          if (res.statusCode === 200) {
            assert.equal(node.calls.length, 1)
            const call = node.calls[0]
            assert.ok(call?.method === 'act')
            // The shape only: the app module checks the action and its arguments (ABI types).
            const name = call.action.action ?? call.action.type
            assert.ok(typeof name === 'string' && /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/.test(name))
            assert.ok(
              call.action.app === undefined ||
                valid.has(`${call.action.app}/${name}`) ||
                typeof call.action.app === 'string',
            )
          } else {
            assert.equal(res.statusCode, 400, res.body)
            assert.deepEqual(node.calls, [])
          }
        }),
        { numRuns: 300 },
      )
    })
  })

  describe('errors', () => {
    it('an unknown channel is 404 CHANNEL_NOT_FOUND on every channel route', async () => {
      for (const [method, url, payload] of [
        ['GET', `/v1/channels/${UNKNOWN_CHANNEL}`],
        ['POST', `/v1/channels/${UNKNOWN_CHANNEL}/actions`, { app: 'escrow', type: 'release' }],
        ['GET', `/v1/channels/${UNKNOWN_CHANNEL}/dispute`],
        ['POST', `/v1/channels/${UNKNOWN_CHANNEL}/dispute`, {}],
      ] as const) {
        const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })
        assert.equal(res.statusCode, 404, `${method} ${url}`)
        assert.deepEqual(res.json(), { error: { code: 'CHANNEL_NOT_FOUND', message: 'no such channel' } })
      }
    })

    it('an action the peer refused is 409 with the result, a silent peer 504', async () => {
      node.actResult = {
        ok: false,
        reason: 'peer-rejected',
        from: PEER_ADDRESS,
        peerReason: 'refused',
        message: 'no',
      }
      const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
      const refused = await app.inject({ method: 'POST', url, payload: { app: 'escrow', type: 'release' } })
      assert.equal(refused.statusCode, 409)
      const body = refused.json() as { error: { code: string; details: { from: string } } }
      assert.equal(body.error.code, 'PEER_REJECTED')
      assert.equal(body.error.details.from, PEER_ADDRESS)
      node.actResult = {
        ok: false,
        reason: 'step-rejected',
        step: { ok: false, reason: 'revert', message: 'Overspend(100, 50)', gasUsed: 21_000n },
      }
      const rejected = await app.inject({ method: 'POST', url, payload: { app: 'escrow', type: 'release' } })
      assert.equal(rejected.statusCode, 409)
      assert.deepEqual(
        (rejected.json() as { error: { code: string; message: string } }).error.message,
        'the app rejected the step: Overspend(100, 50)',
      )
      node.actResult = { ok: false, reason: 'peer-timeout', missing: [PEER_ADDRESS] }
      const silent = await app.inject({ method: 'POST', url, payload: { app: 'escrow', type: 'release' } })
      assert.equal(silent.statusCode, 504)
      assert.equal((silent.json() as { error: { code: string } }).error.code, 'PEER_TIMEOUT')
    })

    it('a dispute step not worth its gas is 409 NOT_WORTH_IT', async () => {
      node.failNext = new ChanvmError('NOT_WORTH_IT', 'the fee exceeds what the step can win', {
        channelId: KNOWN_CHANNEL,
      })
      const res = await app.inject({ method: 'POST', url: `/v1/channels/${KNOWN_CHANNEL}/dispute` })
      assert.equal(res.statusCode, 409)
      assert.deepEqual(res.json(), {
        error: { code: 'NOT_WORTH_IT', message: 'the fee exceeds what the step can win' },
      })
    })

    it('an unexpected failure is a bare 500: no message, no stack', async () => {
      const secret = new Error('db password is hunter2')
      node.failNext = secret
      const res = await app.inject({ url: '/v1/channels' })
      assert.equal(res.statusCode, 500)
      assert.deepEqual(res.json(), { error: { code: 'INTERNAL', message: 'internal error' } })
      assert.doesNotMatch(res.body, /hunter2|at .*\.ts/)
    })

    it('an unknown route is 404 in the same shape', async () => {
      const res = await app.inject({ url: '/v2/anything' })
      assert.equal(res.statusCode, 404)
      assert.equal((res.json() as { error: { code: string } }).error.code, 'NOT_FOUND')
    })
  })

  describe('access', () => {
    it('refuses to build on a non-loopback host without a token, and with a short token', async () => {
      for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
        await assert.rejects(
          createApiServer({ node, host, port: 0, logger: false }),
          (e: unknown) => e instanceof ChanvmError && e.code === 'CONFIG',
        )
      }
      await assert.rejects(
        createApiServer({ node, host: '127.0.0.1', port: 0, token: 'short', logger: false }),
        (e: unknown) => e instanceof ChanvmError && e.code === 'CONFIG',
      )
    })

    it('without a token: non-loopback callers and non-loopback Host headers are 403', async () => {
      const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
      const payload = { app: 'escrow', type: 'release' }
      const remote = await app.inject({ method: 'POST', url, payload, remoteAddress: '10.1.2.3' })
      assert.equal(remote.statusCode, 403)
      const rebound = await app.inject({
        method: 'POST',
        url,
        payload,
        headers: { host: 'evil.example:7311' },
      })
      assert.equal(rebound.statusCode, 403)
      for (const [remoteAddress, host] of [
        ['127.0.0.1', 'localhost:7311'],
        ['::1', '[::1]:7311'],
        ['::ffff:127.0.0.1', '127.0.0.1'],
      ] as const) {
        const ok = await app.inject({ url: '/v1/health', remoteAddress, headers: { host } })
        assert.equal(ok.statusCode, 200, `${remoteAddress} ${host}`)
      }
      // Right after a caller was let in, another that shares its address or its Host is not.
      for (const [remoteAddress, host] of [
        ['10.1.2.3', '127.0.0.1'],
        ['::ffff:127.0.0.1', 'evil.example'],
      ] as const) {
        const ok = await app.inject({
          url: '/v1/health',
          remoteAddress: '::ffff:127.0.0.1',
          headers: { host: '127.0.0.1' },
        })
        assert.equal(ok.statusCode, 200)
        const refused = await app.inject({ url: '/v1/health', remoteAddress, headers: { host } })
        assert.equal(refused.statusCode, 403, `${remoteAddress} ${host}`)
      }
      assert.deepEqual(node.calls, [])
    })

    it('with a token: missing or wrong is 401 before the body is read; the right one passes from anywhere', async () => {
      const guarded = await createApiServer({ node, host: '0.0.0.0', port: 0, token: TOKEN, logger: false })
      try {
        const url = `/v1/channels/${KNOWN_CHANNEL}/actions`
        const payload = { app: 'escrow', type: 'release' }
        const remoteAddress = '203.0.113.9'
        for (const authorization of [
          undefined,
          '',
          TOKEN,
          `Bearer ${TOKEN.slice(0, -1)}`,
          `Bearer ${TOKEN}x`,
          `Basic ${TOKEN}`,
          `Bearer ${TOKEN.slice(0, -1)}X`,
        ]) {
          const headers = authorization === undefined ? {} : { authorization }
          const res = await guarded.inject({ method: 'POST', url, payload, remoteAddress, headers })
          assert.equal(res.statusCode, 401, String(authorization))
          assert.equal(res.headers['www-authenticate'], 'Bearer')
          assert.equal((res.json() as { error: { code: string } }).error.code, 'UNAUTHORIZED')
        }
        assert.deepEqual(node.calls, [])
        const ok = await guarded.inject({
          method: 'POST',
          url,
          payload,
          remoteAddress,
          headers: { authorization: `Bearer ${TOKEN}`, host: 'node.example' },
        })
        assert.equal(ok.statusCode, 200, ok.body)
        assert.equal(node.calls.length, 1)
        for (const url of ['/metrics', '/v1/events', '/openapi.json', '/v1/health', '/nowhere']) {
          const res = await guarded.inject({ url, remoteAddress })
          assert.equal(res.statusCode, 401, url)
        }
        assert.equal(node.listeners, 0, 'no event stream was opened')
      } finally {
        await guarded.close()
      }
    })
  })

  describe('documents', () => {
    it('GET /openapi.json is OpenAPI 3 and lists every route with its method', async () => {
      const res = await app.inject({ url: '/openapi.json' })
      assert.equal(res.statusCode, 200)
      const doc = res.json() as {
        openapi: string
        paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string }[] }>>
      }
      assert.match(doc.openapi, /^3\./)
      const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      )
      assert.deepEqual(routes.sort(), [
        'GET /metrics',
        'GET /v1/channels',
        'GET /v1/channels/{id}',
        'GET /v1/channels/{id}/dispute',
        'GET /v1/channels/{id}/timeline',
        'GET /v1/events',
        'GET /v1/health',
        'GET /v1/inputs',
        'GET /v1/ready',
        'GET /v1/status',
        'POST /v1/channels',
        'POST /v1/channels/{id}/actions',
        'POST /v1/channels/{id}/cancel',
        'POST /v1/channels/{id}/dispute',
      ])
      const action = doc.paths['/v1/channels/{id}/actions']?.['post']
      assert.ok(action?.requestBody !== undefined)
      assert.deepEqual(
        action.parameters?.map((p) => p.name),
        ['id'],
      )
      const openSchema = JSON.stringify(doc.paths['/v1/channels']?.['post']?.requestBody)
      assert.match(openSchema, /\^\[0-9\]\+\$/)
    })

    it('GET /openapi.json passes an independent OpenAPI validator, names its schemas and declares every status', async () => {
      const doc = (await app.inject({ url: '/openapi.json' })).json() as {
        openapi: string
        components: { schemas: Record<string, unknown> }
        paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>
      }
      const verdict = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0])
      assert.deepEqual(verdict, { valid: true }, JSON.stringify(verdict.errors))
      assert.equal(doc.openapi, '3.1.0')
      assert.deepEqual(Object.keys(doc.components.schemas).sort(), NAMED_SCHEMAS.map((s) => s.$id).sort())
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const statuses = Object.keys(op.responses)
          for (const status of ['400', '401', '403', '500', '503'])
            assert.ok(statuses.includes(status), `${method} ${path} declares ${status}`)
          if (method === 'post')
            for (const status of ['413', '415'])
              assert.ok(statuses.includes(status), `${method} ${path} declares ${status}`)
        }
      }
      for (const path of ['/v1/channels', '/v1/channels/{id}/actions'])
        assert.ok(doc.paths[path]?.['post']?.responses['504'] !== undefined, `POST ${path} declares 504`)
    })

    it('GET /metrics is Prometheus text with the node counters', async () => {
      const res = await app.inject({ url: '/metrics' })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /^text\/plain/)
      const samples = new Map<string, number>()
      for (const line of res.body.split('\n')) {
        if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/i.exec(line)
        assert.ok(m !== null, `not a Prometheus sample line: ${line}`)
        samples.set(m[1] ?? '', Number(m[2]))
      }
      assert.equal(samples.get('chanvm_steps_total'), 12)
      assert.equal(samples.get('chanvm_refusals_total{reason="refused"}'), 2)
      assert.equal(samples.get('chanvm_refusals_total{reason="bad-signature"}'), 1)
      assert.equal(samples.get('chanvm_readings_total{verdict="accepted"}'), 40)
      assert.equal(samples.get('chanvm_readings_total{verdict="stale"}'), 3)
      assert.equal(samples.get('chanvm_disputes_total'), 1)
      assert.equal(samples.get('chanvm_gas_spent_total'), 987654)
      assert.equal(samples.get('chanvm_channels'), 1)
      assert.match(res.body, /# TYPE chanvm_steps_total counter/)
      assert.match(res.body, /# TYPE chanvm_channels gauge/)
      node.metricsValue = { ...node.metricsValue, steps: 13 }
      await new Promise((r) => setTimeout(r, 150))
      const again = await app.inject({ url: '/metrics' })
      assert.match(again.body, /^chanvm_steps_total 13$/m)
    })
  })

  describe('over a real socket on 127.0.0.1', () => {
    let server: ApiServer
    let base: string
    beforeEach(async () => {
      server = await createApiServer({
        node,
        host: '127.0.0.1',
        port: 0,
        token: TOKEN,
        logger: false,
        heartbeatMs: 50,
        maxEventStreams: 2,
      })
      base = await server.start()
    })
    afterEach(() => server.close())

    it('serves health with the token and refuses without', async () => {
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/)
      const ok = await fetch(`${base}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(ok.status, 200)
      assert.equal(((await ok.json()) as { address: string }).address, NODE_ADDRESS)
      const refused = await fetch(`${base}/v1/health`)
      assert.equal(refused.status, 401)
    })

    it('event streams beyond the limit are 503; closing one makes room', async () => {
      const open = () =>
        new Promise<IncomingMessage>((resolve, reject) =>
          get(`${base}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` } }, resolve).on(
            'error',
            reject,
          ),
        )
      const first = await open()
      const second = await open()
      assert.deepEqual([first.statusCode, second.statusCode], [200, 200])
      const third = await open()
      assert.equal(third.statusCode, 503)
      third.resume()
      first.destroy()
      for (const end = Date.now() + 30_000; node.listeners > 1 && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10))
      assert.equal(node.listeners, 1)
      const fourth = await open()
      assert.equal(fourth.statusCode, 200)
      second.destroy()
      fourth.destroy()
    })

    it('GET /v1/events streams node events (bigints as strings), filters by channel, beats, ends on close', async () => {
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        get(
          `${base}/v1/events?channelId=${KNOWN_CHANNEL}`,
          { headers: { authorization: `Bearer ${TOKEN}` } },
          resolve,
        ).on('error', reject),
      )
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /^text\/event-stream/)
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      const until = async (predicate: () => boolean) => {
        for (const end = Date.now() + 30_000; !predicate() && Date.now() < end;)
          await new Promise((r) => setTimeout(r, 10))
        assert.ok(predicate(), `stream so far: ${text}`)
      }
      await until(() => node.listeners === 1)
      node.emit({ source: 'node', message: 'not about a channel' })
      node.emit({
        source: 'party',
        channelId: `0x${'ee'.repeat(32)}`,
        event: { type: 'proposed', channelId: `0x${'ee'.repeat(32)}`, version: 1n, mover: 0 },
      })
      node.emit({
        source: 'party',
        event: { type: 'funded', channelId: KNOWN_CHANNEL, deposited: [10n ** 18n, 0n] },
      })
      await until(() => text.includes('data: '))
      await until(() => text.includes(': heartbeat'))
      const events = text
        .split('\n\n')
        .filter((block) => block.includes('data: '))
        .map((block) => ({
          event: /^event: (.*)$/m.exec(block)?.[1],
          data: json(/^data: (.*)$/m.exec(block)?.[1] ?? ''),
        }))
      assert.deepEqual(events, [
        {
          event: 'party',
          data: {
            source: 'party',
            event: { type: 'funded', channelId: KNOWN_CHANNEL, deposited: ['1000000000000000000', '0'] },
          },
        },
      ])
      const ended = new Promise((r) => res.on('end', r))
      await server.close()
      await ended
      assert.equal(node.listeners, 0)
    })
  })
})
