// The HTTP API in front of two real nodes (createNode on anvil and aedes), over real sockets: a
// channel opened from both sides through POST /v1/channels, steps through POST .../actions, the
// counterparty's view through GET, events on the SSE stream, counters on /metrics, the dispute
// plan, bad input answered without changing the channel, an open that conflicts with the channel
// held refused with what differs, an open the counterparty never answered cancelled, and one
// status that `channels` and `show` agree on through dispute, conclusion and withdrawal. Every
// JSON reply is checked against the schema the node's own OpenAPI document declares for its
// route and status.
import assert from 'node:assert/strict'
import { get, type IncomingMessage } from 'node:http'
import { Ajv } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { parseEther, type Hex } from 'viem'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { disputePlanSchema } from '../../node/http/schemas.ts'
import type { ChainFixture } from '../support/anvilFixture.ts'
import { startApiNodes, type ApiNode, type ApiNodes } from '../support/apiNodes.ts'

const TOKEN = 'real-node-test-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }

type Api = ApiNode

/** The JSON the API answers, as far as these tests read it (amounts as decimal strings). */
type Wire = {
  error?: { code: string; message: string; details?: string[] }
  status?: string
  phase?: string
  withdrawable?: string
  channelId?: string
  me?: number
  version?: string
  balances?: string[]
  onChain?: { status: string; version: string }
  channels?: { channelId: string; status: string; chainView?: unknown }[]
  signed?: { state: { version: string; balances: string[] }; signatures: string[] }
  ours?: { version: string }
  held?: { version: string }
  next?: { step: string; feeWei?: string }
  payouts?: string[]
  chainView?: unknown
}
/** The data of one SSE event, as far as these tests read it. */
type EventData = { step?: string; gasUsed?: string; event?: { type: string } }

/** Every reply checked so far against the OpenAPI document, as `METHOD /path status`. */
const checked = new Set<string>()
let openapi: { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> } | undefined
const ajv2020 = new Ajv2020({ strict: false, validateSchema: false })

/**
 * Checks a real reply against the schema the node's OpenAPI document declares for its route and
 * status: a status the document does not declare, or a body that does not match, fails the test.
 */
function checkReply(method: string, path: string, status: number, body: unknown): void {
  if (openapi === undefined) return
  const template = path.split('?')[0]?.replace(/0x[0-9a-fA-F]{64}/, '{id}') ?? path
  const op = openapi.paths[template]?.[method.toLowerCase()]
  assert.ok(op !== undefined, `the document has ${method} ${template}`)
  assert.ok(
    op.responses[String(status)] !== undefined,
    `the document declares ${status} for ${method} ${template}`,
  )
  const pointer = [
    'paths',
    template,
    method.toLowerCase(),
    'responses',
    String(status),
    'content',
    'application/json',
    'schema',
  ]
    .map((k) => k.replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('/')
  const validate = ajv2020.getSchema(`openapi.json#/${pointer}`)
  assert.ok(validate !== undefined, `a schema for ${method} ${template} ${status}`)
  assert.ok(
    validate(body),
    `${method} ${template} ${status}: ${ajv2020.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
  )
  checked.add(`${method} ${template} ${status}`)
}

async function call(
  api: Api,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Wire }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: body === undefined ? { authorization: auth.authorization } : auth,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  const isJson = res.headers.get('content-type')?.includes('json') === true
  const json = isJson ? JSON.parse(text) : text
  if (isJson) checkReply(method, path, res.status, json)
  return { status: res.status, json }
}

/** Collects the SSE events of `url` until `stop()`. */
async function subscribe(
  url: string,
): Promise<{ events: { event: string; data: EventData }[]; stop: () => void }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    get(url, { headers: { authorization: auth.authorization } }, resolve).on('error', reject),
  )
  assert.equal(res.statusCode, 200)
  const events: { event: string; data: EventData }[] = []
  let buffer = ''
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buffer += chunk
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event !== undefined && data !== undefined)
        events.push({ event, data: JSON.parse(data) as EventData })
    }
  })
  return { events, stop: () => res.destroy() }
}

async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('HTTP API in front of two real nodes (anvil, aedes)', function () {
  this.timeout(120_000)
  let f: ChainFixture
  let alice: Api
  let bob: Api
  let channelId: string
  let openNonce = ''
  const DEPOSIT = parseEther('1')
  const AMOUNT = parseEther('0.4')

  let nodes: ApiNodes | undefined

  before(async () => {
    nodes = await startApiNodes(TOKEN, 'http')
    ;({ f, alice, bob } = nodes)
    const doc = await fetch(`${alice.url}/openapi.json`, { headers: { authorization: auth.authorization } })
    openapi = (await doc.json()) as NonNullable<typeof openapi>
    ajv2020.addSchema({ ...openapi, $id: 'openapi.json' })
  })

  after(async () => {
    await nodes?.stop()
  })

  it('opens an escrow channel from both sides over HTTP; the SSE stream reports the deposit and commits', async () => {
    const stream = await subscribe(`${alice.url}/v1/events`)
    try {
      const nonce = String(Date.now())
      openNonce = nonce
      const request = (role: 'first' | 'second', counterparty: string) => ({
        app: 'escrow',
        counterparty,
        role,
        balances: [DEPOSIT.toString(), '0'],
        nonce,
        challengeDuration: '3600',
        terms: { arbiter: f.arbiter.address },
      })
      const [a, b] = await Promise.all([
        call(alice, 'POST', '/v1/channels', request('first', f.bob.address)),
        call(bob, 'POST', '/v1/channels', request('second', f.alice.address)),
      ])
      assert.equal(a.status, 201, JSON.stringify(a.json))
      assert.equal(b.status, 201, JSON.stringify(b.json))
      channelId = String(a.json.channelId)
      assert.equal(b.json.channelId, channelId)
      assert.deepEqual([a.json.me, b.json.me], [0, 1])
      assert.deepEqual(a.json.balances, [DEPOSIT.toString(), '0'])
      assert.equal(a.json.version, '0')
      await eventually('the deposit is on the stream', () =>
        stream.events.some((e) => e.event === 'chain' && e.data.step === 'deposit'),
      )
      const deposit = stream.events.find((e) => e.event === 'chain')
      assert.match(String(deposit?.data.gasUsed), /^[0-9]+$/)
      assert.ok(stream.events.some((e) => e.event === 'party' && e.data.event?.type === 'committed'))
    } finally {
      stream.stop()
    }
  })

  it('fund and release through POST /actions; bob sees version 2 through GET', async () => {
    const deadline = ((await f.now()) + 3_600n).toString()
    const funded = await call(alice, 'POST', `/v1/channels/${channelId}/actions`, {
      app: 'escrow',
      type: 'fund',
      amount: AMOUNT.toString(),
      deadline,
    })
    assert.equal(funded.status, 200, JSON.stringify(funded.json))
    assert.equal(funded.json.signed?.state.version, '1')
    assert.equal(funded.json.signed?.signatures.length, 2)
    const released = await call(alice, 'POST', `/v1/channels/${channelId}/actions`, {
      app: 'escrow',
      type: 'release',
    })
    assert.equal(released.status, 200, JSON.stringify(released.json))
    assert.deepEqual(released.json.signed?.state.balances, [(DEPOSIT - AMOUNT).toString(), AMOUNT.toString()])
    await eventually(
      'bob holds version 2',
      async () => (await call(bob, 'GET', `/v1/channels/${channelId}`)).json.version === '2',
    )
    const shown = await call(bob, 'GET', `/v1/channels/${channelId}`)
    assert.deepEqual(shown.json.balances, [(DEPOSIT - AMOUNT).toString(), AMOUNT.toString()])
    const listed = await call(bob, 'GET', '/v1/channels')
    assert.deepEqual(
      listed.json.channels?.map((c) => c.channelId),
      [channelId],
    )
  })

  it('bad input is refused by the API or the node without changing the channel', async () => {
    const before = await call(alice, 'GET', `/v1/channels/${channelId}`)
    const wrongApp = await call(alice, 'POST', `/v1/channels/${channelId}/actions`, {
      app: 'tv-delivery',
      type: 'pay',
    })
    assert.equal(wrongApp.status, 400, JSON.stringify(wrongApp.json))
    assert.equal(wrongApp.json.error?.code, 'INVALID_ARGUMENT')
    const unknown = await call(alice, 'POST', `/v1/channels/0x${'12'.repeat(32)}/actions`, {
      app: 'escrow',
      type: 'release',
    })
    assert.equal(unknown.status, 404)
    assert.equal(unknown.json.error?.code, 'CHANNEL_NOT_FOUND')
    const malformed = await call(alice, 'POST', `/v1/channels/${channelId}/actions`, {
      app: 'escrow',
      type: 'fund',
      amount: '-5',
      deadline: '1',
    })
    assert.equal(malformed.status, 400)
    const after = await call(alice, 'GET', `/v1/channels/${channelId}`)
    // The node's view of the chain moves on by itself (a block mined meanwhile); the channel must not.
    const { chainView: viewBefore, ...channelBefore } = before.json
    const { chainView: viewAfter, ...channelAfter } = after.json
    assert.deepEqual(channelAfter, channelBefore)
    assert.ok(viewBefore !== undefined && viewAfter !== undefined, 'both reads show the chain view')
  })

  it('GET /metrics counts the steps, the channel and the gas', async () => {
    const res = await fetch(`${alice.url}/metrics`, { headers: { authorization: auth.authorization } })
    const text = await res.text()
    assert.match(text, /^chanvm_steps_total 3$/m)
    assert.match(text, /^chanvm_channels 1$/m)
    const gas = Number(/^chanvm_gas_spent_total (\d+)$/m.exec(text)?.[1])
    assert.ok(gas > 20_000, `gas ${gas}`)
  })

  it('dispute over HTTP: both plans say register; bob takes the step on chain, then alice waits', async () => {
    const ajv = new Ajv({ strict: false })
    for (const api of [alice, bob]) {
      const plan = await call(api, 'GET', `/v1/channels/${channelId}/dispute`)
      assert.equal(plan.status, 200, JSON.stringify(plan.json))
      assert.ok(ajv.validate(disputePlanSchema, plan.json), ajv.errorsText())
      assert.equal(plan.json.ours?.version, '2')
      assert.equal(plan.json.next?.step, 'register')
      assert.match(String(plan.json.next?.feeWei), /^[0-9]+$/)
      assert.deepEqual(plan.json.payouts, [(DEPOSIT - AMOUNT).toString(), AMOUNT.toString()])
    }
    const forcedType = await call(bob, 'POST', `/v1/channels/${channelId}/dispute`, { force: 'true' })
    assert.equal(forcedType.status, 400)
    assert.equal((await getChannelRecord(f.carol.client, channelId as Hex)).status, 'open')
    const taken = await call(bob, 'POST', `/v1/channels/${channelId}/dispute`)
    assert.equal(taken.status, 200, JSON.stringify(taken.json))
    const rec = await getChannelRecord(f.carol.client, channelId as Hex)
    assert.deepEqual([rec.status, rec.version], ['disputed', 2n])
    await sameStatus('disputed', '2')
    await eventually('alice plans to wait for the challenge period', async () => {
      const plan = await call(alice, 'GET', `/v1/channels/${channelId}/dispute`)
      return plan.json.next?.step === 'wait' && plan.json.held?.version === '2'
    })
    const shown = await call(alice, 'GET', `/v1/channels/${channelId}`)
    assert.equal(shown.json.onChain?.status, 'dispute')
  })

  it('a node whose watcher saw the registration refuses a new step with 409 DISPUTED, on either side', async () => {
    const deadline = ((await f.now()) + 3_600n).toString()
    const step = { app: 'escrow', type: 'fund', amount: '1', deadline }
    for (const api of [alice, bob]) {
      // Acting before the watcher has seen the registration would be a step like any other.
      await eventually('the watcher has told the party', async () => {
        return api.node.party.phase(channelId as Hex) === 'disputed'
      })
      const r = await call(api, 'POST', `/v1/channels/${channelId}/actions`, step)
      assert.equal(r.status, 409, JSON.stringify(r.json))
      assert.equal(r.json.error?.code, 'DISPUTED')
      assert.match(String(r.json.error?.message), /dispute/)
    }
    const after = await call(bob, 'GET', `/v1/channels/${channelId}`)
    assert.equal(after.json.version, '2', 'nothing was co-signed in dispute')
  })

  /**
   * `channels` and `show` say the same of the channel, on both nodes, and it is `status`. The two
   * reads are moments apart (the watcher may tell the party of a dispute between them), so they
   * are read again until they were taken with nothing changing in between.
   */
  async function sameStatus(status: string, onChainVersion: string): Promise<void> {
    for (const api of [alice, bob]) {
      let shown: Wire | undefined
      let listed: unknown
      await eventually('channels and show read the same moment', async () => {
        shown = (await call(api, 'GET', `/v1/channels/${channelId}`)).json
        listed = (await call(api, 'GET', '/v1/channels')).json.channels?.find(
          (c) => c.channelId === channelId,
        )
        return JSON.stringify(listed) === JSON.stringify(shown)
      })
      assert.deepEqual(listed, shown, 'channels and show answer the same summary')
      assert.equal(shown?.status, status)
      assert.equal(shown?.onChain?.version, onChainVersion)
    }
  }

  it('one status through conclusion and withdrawal: concluded while wei is left, then closed', async () => {
    await f.increaseTime(3_601n)
    const concluded = await call(bob, 'POST', `/v1/channels/${channelId}/dispute`)
    assert.equal(concluded.status, 200, JSON.stringify(concluded.json))
    assert.equal((await getChannelRecord(f.carol.client, channelId as Hex)).status, 'concluded')
    await sameStatus('concluded', '2')
    const shown = await call(bob, 'GET', `/v1/channels/${channelId}`)
    assert.equal(shown.json.withdrawable, AMOUNT.toString())
    const withdrawn = await call(bob, 'POST', `/v1/channels/${channelId}/dispute`)
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.json))
    const bobs = await call(bob, 'GET', `/v1/channels/${channelId}`)
    assert.deepEqual([bobs.json.status, bobs.json.withdrawable], ['closed', '0'])
    const alices = await call(alice, 'GET', `/v1/channels/${channelId}`)
    assert.deepEqual(
      [alices.json.status, alices.json.withdrawable],
      ['concluded', (DEPOSIT - AMOUNT).toString()],
    )
  })

  it('an open with the nonce of a channel held but other balances or terms is 409 with what differs', async () => {
    const request = {
      app: 'escrow',
      counterparty: f.bob.address,
      role: 'first',
      balances: [DEPOSIT.toString(), '0'],
      nonce: '0',
      challengeDuration: '3600',
      terms: { arbiter: f.arbiter.address },
    }
    const held = (await call(alice, 'GET', `/v1/channels/${channelId}`)).json
    const first = await call(alice, 'GET', '/v1/channels')
    const nonce = openNonce
    const again = await call(alice, 'POST', '/v1/channels', { ...request, nonce })
    assert.equal(again.status, 201, JSON.stringify(again.json))
    assert.equal(again.json.channelId, channelId)
    assert.equal(again.json.status, held.status)
    const otherBalances = await call(alice, 'POST', '/v1/channels', {
      ...request,
      nonce,
      balances: [(DEPOSIT * 2n).toString(), '0'],
    })
    assert.equal(otherBalances.status, 409, JSON.stringify(otherBalances.json))
    assert.equal(otherBalances.json.error?.code, 'OPEN_CONFLICT')
    assert.deepEqual(otherBalances.json.error?.details, [
      `balances: held [${DEPOSIT}, 0], requested [${DEPOSIT * 2n}, 0]`,
    ])
    const otherTerms = await call(alice, 'POST', '/v1/channels', {
      ...request,
      nonce,
      terms: { arbiter: f.carol.address },
    })
    assert.equal(otherTerms.status, 409, JSON.stringify(otherTerms.json))
    assert.match(String(otherTerms.json.error?.details?.[0]), /^terms: /)
    const otherDuration = await call(alice, 'POST', '/v1/channels', {
      ...request,
      nonce,
      challengeDuration: '7200',
    })
    assert.equal(otherDuration.status, 409, JSON.stringify(otherDuration.json))
    assert.deepEqual(otherDuration.json.error?.details, ['challengeDuration: held 3600, requested 7200'])
    // The chain view moves with the blocks other tests mine; what must not change is the channel set.
    const channelsOf = (json: Wire) =>
      (json.channels ?? []).map(({ chainView: _moves, ...channel }) => channel)
    assert.deepEqual(
      channelsOf((await call(alice, 'GET', '/v1/channels')).json),
      channelsOf(first.json),
      'nothing was opened',
    )
  })

  it('an open the counterparty never answers times out and can be cancelled; it is dropped and not reopened', async () => {
    const request = {
      app: 'escrow',
      counterparty: f.carol.address,
      role: 'first',
      balances: [DEPOSIT.toString(), '0'],
      nonce: '77',
      challengeDuration: '3600',
      terms: { arbiter: f.arbiter.address },
    }
    const timedOut = await call(alice, 'POST', '/v1/channels', request)
    assert.equal(timedOut.status, 504, JSON.stringify(timedOut.json))
    const listed = (await call(alice, 'GET', '/v1/channels')).json.channels ?? []
    const stuck = listed.find((c) => c.status === 'opening')
    assert.ok(stuck !== undefined, 'the open is listed as opening')
    const opened = await call(alice, 'POST', `/v1/channels/${channelId}/cancel`)
    assert.equal(opened.status, 409, JSON.stringify(opened.json))
    assert.equal(opened.json.error?.code, 'NOT_CANCELLABLE')
    const cancelled = await call(alice, 'POST', `/v1/channels/${stuck.channelId}/cancel`)
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json))
    assert.deepEqual([cancelled.json.status, cancelled.json.phase], ['cancelled', 'opening'])
    const after = (await call(alice, 'GET', '/v1/channels')).json.channels ?? []
    assert.deepEqual(
      after.map((c) => c.channelId),
      [channelId],
    )
    assert.equal((await call(alice, 'GET', `/v1/channels/${stuck.channelId}`)).json.status, 'cancelled')
    const reopened = await call(alice, 'POST', '/v1/channels', request)
    assert.equal(reopened.status, 409, JSON.stringify(reopened.json))
    assert.equal(reopened.json.error?.code, 'OPEN_CONFLICT')
  })

  it('every reply was checked against the OpenAPI document', () => {
    for (const reply of [
      'GET /v1/channels 200',
      'GET /v1/channels/{id} 200',
      'POST /v1/channels 201',
      'POST /v1/channels 409',
      'POST /v1/channels 504',
      'POST /v1/channels/{id}/actions 200',
      'POST /v1/channels/{id}/actions 400',
      'POST /v1/channels/{id}/actions 404',
      'GET /v1/channels/{id}/dispute 200',
      'POST /v1/channels/{id}/dispute 200',
      'POST /v1/channels/{id}/dispute 400',
      'POST /v1/channels/{id}/cancel 200',
      'POST /v1/channels/{id}/cancel 409',
    ])
      assert.ok(checked.has(reply), `${reply} was seen and checked`)
  })
})
