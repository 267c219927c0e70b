// The dashboard's files and routes on the API server (fake node, no browser): the page and its
// files are public and carry the policy, the data is not; a node without a journal says so; the
// journal's rings are bounded; the app views read the apps' own encodings.
import assert from 'node:assert/strict'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import type { AppModule } from '../../apps/types.ts'
import { parseEther, type Hex } from 'viem'
import { coldChainActions, initialColdChainData } from '../../apps/coldChain/coldChainClient.ts'
import { encodeEscrowData, escrowActions } from '../../apps/escrow/escrowClient.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createNodeJournal } from '../../node/createNodeJournal.ts'
import { actionName, describeAppState } from '../../node/describeAppState.ts'
import { createApiServer, type ApiServer } from '../../node/http/createApiServer.ts'
import { DASHBOARD_CSP } from '../../node/http/serveDashboard.ts'
import { createFakeNode, KNOWN_CHANNEL } from './httpFakeNode.ts'

const appNamed = (name: string): AppModule => {
  const app = BUILT_IN_REGISTRY.byName(name)
  if (app === undefined) throw new Error(`no built-in app ${name}`)
  return app
}

const TOKEN = 'dashboard-unit-token-0123456789'
const remoteAddress = '127.0.0.1'

describe('node/http: the dashboard files and routes', () => {
  let app: ApiServer
  before(async () => {
    app = await createApiServer({
      node: createFakeNode(),
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      logger: false,
    })
  })
  after(() => app.close())

  it('serves the page, its modules and access.json without a token, each with the policy', async () => {
    for (const [url, type] of [
      ['/', /text\/html/],
      ['/dashboard/app.js', /text\/javascript/],
      ['/dashboard/style.css', /text\/css/],
      ['/dashboard/vendor/uPlot.esm.js', /text\/javascript/],
      ['/dashboard/access.json', /application\/json/],
    ] as const) {
      const res = await app.inject({ url, remoteAddress })
      assert.equal(res.statusCode, 200, url)
      assert.match(String(res.headers['content-type']), type, url)
      assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP, url)
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url)
    }
    const access = await app.inject({ url: '/dashboard/access.json', remoteAddress })
    assert.deepEqual(access.json(), { tokenRequired: true })
  })

  it('keeps the data behind the token, and answers 404 for a file it does not have', async () => {
    for (const url of ['/v1/status', '/v1/inputs', `/v1/channels/${KNOWN_CHANNEL}/timeline`]) {
      assert.equal((await app.inject({ url, remoteAddress })).statusCode, 401, url)
    }
    assert.equal((await app.inject({ method: 'POST', url: '/', remoteAddress })).statusCode, 401)
    assert.equal((await app.inject({ url: '/dashboard/nothing.js', remoteAddress })).statusCode, 404)
    assert.equal((await app.inject({ url: '/dashboard/%2e%2e/package.json', remoteAddress })).statusCode, 401)
  })

  it('a node without a journal answers its routes 404 NO_JOURNAL', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` }
    for (const url of ['/v1/status', '/v1/inputs', `/v1/channels/${KNOWN_CHANNEL}/timeline`]) {
      const res = await app.inject({ url, remoteAddress, headers })
      assert.equal(res.statusCode, 404, url)
      assert.equal((res.json() as { error: { code: string } }).error.code, 'NO_JOURNAL')
    }
  })
})

describe('node: the journal and the app views', () => {
  it('keeps at most maxInputs inputs, the newest last, with the refused ones and their reason', async () => {
    const journal = createNodeJournal({
      store: createMemoryStore(),
      sandbox: await createSandbox(),
      chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545' },
      broker: { url: 'mqtt://127.0.0.1:1883' },
      head: async () => ({ blockNumber: 7n, timestamp: 1_700_000_000n }),
      maxInputs: 3,
    })
    const device = `0x${'11'.repeat(32)}` as Hex
    for (let i = 1; i <= 4; i++) {
      journal.record({
        source: 'input',
        verdict: 'accepted',
        signer: device,
        kind: 'reading',
        message: { sequence: BigInt(i), value: 4_000n },
      })
    }
    journal.record({
      source: 'input',
      verdict: 'stale',
      topic: `chanvm/v1/devices/${device}/readings`,
      detail: 'timestamp is more than 300 s old',
    })
    const kept = journal.inputs()
    assert.equal(kept.length, 3)
    assert.deepEqual(
      kept.map((x) => x.message?.['sequence']),
      [3n, 4n, undefined],
    )
    const refused = kept[2]
    assert.equal(refused?.accepted, false)
    assert.equal(refused?.signer, device, 'the signer of a refused input is read from its topic')
    assert.equal(refused?.detail, 'timestamp is more than 300 s old')
    const health = await journal.health()
    assert.equal(health.chain.ok, true)
    assert.equal(health.chain.blockNumber, 7n)
  })

  it('names actions and describes states with the apps own encodings', () => {
    assert.equal(actionName(appNamed('cold-chain'), coldChainActions.payPremium()), 'premium')
    assert.equal(actionName(appNamed('escrow'), escrowActions.release()), 'release')
    assert.equal(actionName(appNamed('escrow'), '0x1234'), undefined)
    const device = `0x${'22'.repeat(32)}` as Hex
    const cold = describeAppState(
      appNamed('cold-chain'),
      initialColdChainData({
        owner: 0,
        insurer: 1,
        device,
        minValue: 2_000n,
        maxValue: 8_000n,
        runLength: 3,
        premium: parseEther('0.01'),
        insuredSum: parseEther('1'),
        periodSeconds: 3_600n,
        maxPeriods: 24n,
        claimWindow: 600n,
      }),
    )
    assert.deepEqual(cold.device, { id: device, min: 2_000n, max: 8_000n, unit: 'mC', runLength: 3 })
    assert.match(cold.headline, /0 of 24 premiums paid/)
    const escrow = describeAppState(
      appNamed('escrow'),
      encodeEscrowData({
        payer: 0,
        payee: 1,
        arbiter: '0x00000000000000000000000000000000000000a1',
        escrowId: 0n,
        funded: true,
        amount: parseEther('0.1'),
        deadline: 1_700_000_000n,
      }),
    )
    assert.match(escrow.headline, /0\.1 ETH held in escrow until 2023-11-14T22:13:20Z/)
    assert.equal(describeAppState(appNamed('escrow'), '0x').headline, 'the app data does not decode')
  })
})
