// The commands against the node's real HTTP server (fastify with its JSON schemas) in front of a
// recording node: what the commands send passes the API's validation and arrives as the typed
// request, and what the API answers parses. The canned-server tests cover the commands' logic.
import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import { runActCommand } from '../../cli/commands/act.ts'
import { runChannelsCommand } from '../../cli/commands/channels.ts'
import { runDisputeCommand } from '../../cli/commands/dispute.ts'
import { runOpenCommand } from '../../cli/commands/open.ts'
import { runShowCommand } from '../../cli/commands/show.ts'
import { createApiServer, type ApiServer } from '../../node/http/createApiServer.ts'
import { createFakeNode, KNOWN_CHANNEL, PEER_ADDRESS, type FakeNode } from '../node/httpFakeNode.ts'
import { createTestIo, type TestIo } from './support.ts'

const TOKEN = 'cli-test-token-0123456789'
type Command = typeof runOpenCommand
const ORACLE = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(32)}` as Hex

describe('cli commands against the node HTTP server', () => {
  let node: FakeNode
  let server: ApiServer
  let url: string
  const run = (
    command: Command,
    args: string[],
    io: TestIo = createTestIo({ env: { CHANVM_API_TOKEN: TOKEN } }),
  ) =>
    command(['--api', url, ...args], { out: io.out, err: io.err }, undefined, io).then((code) => ({
      code,
      io,
    }))

  beforeEach(async () => {
    node = createFakeNode()
    server = await createApiServer({ node, host: '127.0.0.1', port: 0, token: TOKEN, logger: false })
    url = await server.start()
  })
  afterEach(async () => {
    await server.close()
  })

  it('open: each app’s request passes the schema and reaches the node typed', async () => {
    const base = ['--counterparty', PEER_ADDRESS, '--role', 'second', '--nonce', '9', '--challenge', '2m']
    let r = await run(runOpenCommand, [
      '--app',
      'escrow',
      ...base,
      '--balances',
      '1eth,2gwei',
      '--arbiter',
      PEER_ADDRESS,
    ])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    assert.deepEqual(node.calls.at(-1), {
      method: 'open',
      request: {
        app: 'escrow',
        counterparty: PEER_ADDRESS,
        role: 'second',
        balances: [10n ** 18n, 2_000_000_000n],
        nonce: 9n,
        challengeDuration: 120n,
        terms: { arbiter: PEER_ADDRESS },
      },
    })
    const tv = ['--price', '1eth', '--oracles', `${ORACLE(1)},${ORACLE(2)}`, '--quorum', '2']
    tv.push('--deadline-block', '77', '--tracking-id', 'TRACK-1')
    r = await run(runOpenCommand, ['--app', 'tv-delivery', ...base, '--balances', '1eth,0', ...tv])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    const cold = ['--device', ORACLE(3), '--min-value=-25000', '--max-value', '8000', '--run-length', '3']
    cold.push(
      '--premium',
      '1gwei',
      '--insured-sum',
      '1eth',
      '--period',
      '1h',
      '--max-periods',
      '2',
      '--no-deposit',
    )
    r = await run(runOpenCommand, ['--app', 'cold-chain', ...base, '--balances', '1eth,1eth', ...cold])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    const last = node.calls.at(-1)
    assert.ok(last?.method === 'open')
    assert.equal(last.request.deposit, false)
    assert.equal(last.request.terms['minValue'], '-25000')
    assert.equal(node.calls.length, 3)
  })

  it('act: fund and ruling arrive as typed actions; a refused step is exit 1', async () => {
    let r = await run(runActCommand, [
      KNOWN_CHANNEL,
      'fund',
      '--amount',
      '0.5eth',
      '--deadline',
      '1900000000',
    ])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    assert.deepEqual(node.calls.slice(-2), [
      { method: 'show', channelId: KNOWN_CHANNEL },
      {
        method: 'act',
        channelId: KNOWN_CHANNEL,
        // On the wire and to the node as decimal strings; the app module checks them as uint256 / uint64.
        action: { app: 'escrow', type: 'fund', amount: (5n * 10n ** 17n).toString(), deadline: '1900000000' },
      },
    ])
    assert.match(
      r.io.stdout[0] ?? '',
      /^fund: co-signed version 8: payer 5 wei, payee 0 ETH: 51234 gas in the sandbox$/,
    )
    const sig = `0x${'cd'.repeat(65)}` as Hex
    r = await run(runActCommand, [
      KNOWN_CHANNEL,
      'ruling',
      '--to-payee',
      '--arbiter-sig',
      sig,
      '--app',
      'escrow',
    ])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    assert.deepEqual(node.calls.at(-1), {
      method: 'act',
      channelId: KNOWN_CHANNEL,
      action: { app: 'escrow', type: 'ruling', toPayee: true, arbiterSignature: sig },
    })
    node.actResult = {
      ok: false,
      reason: 'peer-rejected',
      from: PEER_ADDRESS,
      peerReason: 'refused',
      message: 'no',
    }
    r = await run(runActCommand, [KNOWN_CHANNEL, 'release', '--app', 'escrow'])
    assert.equal(r.code, 1)
    assert.match(r.io.stderr.join('\n'), /refused: no/)
  })

  it('channels and show parse what the server sends, 2^200 wei included', async () => {
    let r = await run(runChannelsCommand, ['--json'])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    const list = r.io.json() as { balances: string[] }[]
    assert.equal(list[0]?.balances[1], (2n ** 200n).toString())
    r = await run(runShowCommand, [KNOWN_CHANNEL])
    assert.equal(r.code, 0, r.io.stderr.join('\n'))
    assert.match(
      r.io.stdout.join('\n'),
      /payee {4}0x0{38}b2 +1606938044258990275541962092341162602522202\.993782792835301376 ETH$/m,
    )
    r = await run(runShowCommand, [`0x${'99'.repeat(32)}`])
    assert.equal(r.code, 1)
    assert.match(r.io.stderr.join('\n'), /no such channel/)
  })

  it('dispute: the plan parses and the step is sent with the force flag when given', async () => {
    const r = await run(runDisputeCommand, [KNOWN_CHANNEL, '--yes', '--force', '--max-steps', '1'])
    assert.equal(r.code, 1, r.io.stderr.join('\n'))
    assert.deepEqual(
      node.calls.map((c) => [c.method, c.method === 'disputeStep' ? c.options : undefined]),
      [
        ['disputePlan', undefined],
        ['disputeStep', { force: true }],
      ],
    )
    assert.match(r.io.stdout.join('\n'), /next {6}register: 120000 gas, fee 0\.0003 ETH/)
  })

  it('without the token the node refuses (exit 1, UNAUTHORIZED); a wrong one too', async () => {
    let r = await run(runChannelsCommand, ['--json'], createTestIo())
    assert.equal(r.code, 1)
    assert.equal((r.io.json() as { error: { code: string } }).error.code, 'UNAUTHORIZED')
    r = await run(
      runChannelsCommand,
      ['--token-env', 'T'],
      createTestIo({ env: { T: 'wrong-token-0123456789' } }),
    )
    assert.equal(r.code, 1)
    assert.deepEqual(node.calls, [])
  })
})
