// The HTTP API in front of two real nodes (createNode on anvil and aedes), over real sockets: a
// channel opened from both sides through POST /v1/channels, steps through POST .../actions, the
// counterparty's view through GET, events on the SSE stream, counters on /metrics, the dispute
// plan, and bad input answered without changing the channel.
import assert from 'node:assert/strict'
import { get, type IncomingMessage } from 'node:http'
import { Ajv } from 'ajv'
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
  error?: { code: string; message: string }
  channelId?: string
  me?: number
  version?: string
  balances?: string[]
  onChain?: { status: string }
  channels?: { channelId: string }[]
  signed?: { state: { version: string; balances: string[] }; signatures: string[] }
  ours?: { version: string }
  held?: { version: string }
  next?: { step: string; feeWei?: string }
  payouts?: string[]
}
/** The data of one SSE event, as far as these tests read it. */
type EventData = { step?: string; gasUsed?: string; event?: { type: string } }

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
  return {
    status: res.status,
    json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  }
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
  const DEPOSIT = parseEther('1')
  const AMOUNT = parseEther('0.4')

  let nodes: ApiNodes | undefined

  before(async () => {
    nodes = await startApiNodes(TOKEN, 'http')
    ;({ f, alice, bob } = nodes)
  })

  after(async () => {
    await nodes?.stop()
  })

  it('opens an escrow channel from both sides over HTTP; the SSE stream reports the deposit and commits', async () => {
    const stream = await subscribe(`${alice.url}/v1/events`)
    try {
      const nonce = String(Date.now())
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
    assert.deepEqual(after.json, before.json)
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
      let r: { status: number; json: Wire } | undefined
      await eventually('the watcher has told the party', async () => {
        r = await call(api, 'POST', `/v1/channels/${channelId}/actions`, step)
        return r.json.error?.code === 'DISPUTED'
      })
      assert.equal(r?.status, 409, JSON.stringify(r?.json))
      assert.match(String(r?.json.error?.message), /dispute/)
      assert.equal(api.node.party.phase(channelId as Hex), 'disputed')
    }
    const after = await call(bob, 'GET', `/v1/channels/${channelId}`)
    assert.equal(after.json.version, '2', 'nothing was co-signed in dispute')
  })
})
