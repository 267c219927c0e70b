// The commands end to end: two real nodes (createNode on anvil and aedes) behind their HTTP APIs,
// driven only through chanvm open, act, channels, show and dispute, to a payout on chain.
import assert from 'node:assert/strict'
import { createPublicClient, http, parseEther, type Hex } from 'viem'
import { runActCommand } from '../../cli/commands/act.ts'
import { runChannelsCommand } from '../../cli/commands/channels.ts'
import { runDisputeCommand } from '../../cli/commands/dispute.ts'
import { runOpenCommand } from '../../cli/commands/open.ts'
import { runShowCommand } from '../../cli/commands/show.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import type { ChainFixture } from '../support/anvilFixture.ts'
import { startApiNodes, type ApiNode, type ApiNodes } from '../support/apiNodes.ts'
import { createTestIo, type TestIo } from './support.ts'

const TOKEN = 'cli-real-node-token-0123456789'
type Api = ApiNode
type Command = typeof runOpenCommand

describe('cli commands against two real nodes (anvil, aedes)', function () {
  this.timeout(180_000)
  let f: ChainFixture
  let alice: Api
  let bob: Api
  let channelId: Hex

  const run = async (api: Api, command: Command, args: string[], io?: TestIo) => {
    const out = io ?? createTestIo({ env: { CHANVM_API_TOKEN: TOKEN } })
    const code = await command(['--api', api.url, ...args], { out: out.out, err: out.err }, undefined, out)
    return { code, io: out }
  }

  let nodes: ApiNodes | undefined

  before(async () => {
    nodes = await startApiNodes(TOKEN, 'cli-nodes')
    ;({ f, alice, bob } = nodes)
  })

  after(async () => {
    await nodes?.stop()
  })

  it('open from both sides, fund and release with act, then bob settles alone with dispute --yes', async () => {
    const nonce = String(Date.now())
    const open = (role: string, counterparty: string) => [
      '--app',
      'escrow',
      '--counterparty',
      counterparty,
      '--role',
      role,
      '--balances',
      '1eth,0',
      '--nonce',
      nonce,
      '--challenge',
      '1h',
      '--arbiter',
      f.arbiter.address,
      '--json',
    ]
    const [a, b] = await Promise.all([
      run(alice, runOpenCommand, open('first', f.bob.address)),
      run(bob, runOpenCommand, open('second', f.alice.address)),
    ])
    assert.equal(a.code, 0, a.io.stderr.join('\n'))
    assert.equal(b.code, 0, b.io.stderr.join('\n'))
    channelId = (a.io.json() as { channelId: Hex }).channelId
    assert.equal((b.io.json() as { channelId: Hex }).channelId, channelId)

    const fund = await run(alice, runActCommand, [
      channelId,
      'fund',
      '--amount',
      '0.4eth',
      '--deadline',
      '+1d',
    ])
    assert.equal(fund.code, 0, fund.io.stderr.join('\n'))
    assert.match(fund.io.stdout[0] ?? '', /^fund: co-signed version 1/)
    const release = await run(alice, runActCommand, [channelId, 'release'])
    assert.equal(release.code, 0, release.io.stderr.join('\n'))
    assert.match(release.io.stdout[0] ?? '', /^release: co-signed version 2: payer 0\.6 ETH, payee 0\.4 ETH/)
    const wrong = await run(alice, runActCommand, [channelId, 'claim'])
    assert.equal(wrong.code, 2)
    assert.match(wrong.io.stderr.join('\n'), /runs escrow, which has no action 'claim'/)

    for (let i = 0; i < 200; i++) {
      const listed = await run(bob, runChannelsCommand, ['--json'])
      if ((listed.io.json() as { version: string }[])[0]?.version === '2') break
      await new Promise((r) => setTimeout(r, 50))
    }
    const shown = await run(bob, runShowCommand, [channelId])
    assert.equal(shown.code, 0, shown.io.stderr.join('\n'))
    assert.match(shown.io.stdout.join('\n'), /version {3}2 \(latest co-signed\)/)
    assert.match(shown.io.stdout.join('\n'), /we are payee \(participant 1\)/)

    // Bob settles without alice: each time the command waits, the chain's clock jumps an hour.
    const io = createTestIo({
      env: { CHANVM_API_TOKEN: TOKEN },
      onSleep: async () => {
        await f.increaseTime(3_601n)
        await new Promise((r) => setTimeout(r, 300))
      },
    })
    const rpc = createPublicClient({ transport: http(f.anvil.rpcUrl) })
    const before = await rpc.getBalance({ address: f.bob.address })
    const settled = await run(bob, runDisputeCommand, [channelId, '--yes', '--poll', '1', '--json'], io)
    assert.equal(settled.code, 0, io.stderr.join('\n'))
    const doc = io.json() as {
      outcome: string
      steps: { step: string; gas: string }[]
      plan: { payouts: string[] }
    }
    assert.equal(doc.outcome, 'done')
    const steps = doc.steps.map((s) => s.step)
    assert.deepEqual(steps, ['register', 'conclude', 'withdraw'], io.stderr.join('\n'))
    assert.ok(doc.steps.every((s) => BigInt(s.gas) > 20_000n))
    assert.ok(io.stderr.some((l) => /^waiting: .* left/.test(l)))
    assert.ok(io.sleeps.length >= 1)
    const record = await getChannelRecord(f.carol.client, channelId)
    assert.equal(record.status, 'concluded')
    assert.deepEqual(doc.plan.payouts, [parseEther('0.6').toString(), parseEther('0.4').toString()])
    // Bob's account gained the 0.4 ETH he was owed, less the gas of his three transactions.
    const gained = (await rpc.getBalance({ address: f.bob.address })) - before
    assert.ok(gained > parseEther('0.39') && gained < parseEther('0.4'), `bob gained ${gained} wei`)
  })
})
