import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { zeroAddress, type Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { ApiError, createApiClient } from '../../cli/apiClient.ts'
import { wireToDemoNodeEvent } from '../../cli/demo/readNodeEvents.ts'
import { refusalOf, type RefusalPolicy } from '../../cli/demo/refusalPolicy.ts'
import { runEscrowDemo } from '../../apps/escrow/runEscrowDemo.ts'
import { startDemoNode } from '../../cli/demo/startDemoNode.ts'
import type { ChannelSummary } from '../../node/types.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../oracles/mqtt/startEmbeddedBroker.ts'

type Step = Parameters<typeof refusalOf>[1]
const hex = fc.constantFrom<Hex>('0x01', '0x02', '0xab')
const state = (b0: bigint, b1: bigint) => ({ balances: [b0, b1] })

/** Processes whose parent is this one (Linux `ps`), the `ps` itself left out. */
const children = (): number[] =>
  execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm !== undefined && comm !== 'ps')
    .map(([pid]) => Number(pid))

describe('demo: each party is a chanvm node driven through its HTTP API', function () {
  this.timeout(300_000) // a bound for a hang, not a speed check (processes on a shared machine)

  it('a refusal policy refuses exactly the proposals that match every field it gives', () => {
    fc.assert(
      fc.property(
        fc.record({
          mover: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
          action: fc.option(hex, { nil: undefined }),
          grows: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
        }),
        fc.integer({ min: 0, max: 1 }),
        hex,
        fc.tuple(fc.bigInt({ min: 0n, max: 10n }), fc.bigInt({ min: 0n, max: 10n })),
        fc.tuple(fc.bigInt({ min: 0n, max: 10n }), fc.bigInt({ min: 0n, max: 10n })),
        (p, mover, action, from, to) => {
          const policy: RefusalPolicy = {
            reason: 'no',
            ...(p.mover === undefined ? {} : { mover: p.mover }),
            ...(p.action === undefined ? {} : { action: p.action }),
            ...(p.grows === undefined ? {} : { balanceGrowsFor: p.grows }),
          }
          const step = { mover, action, from: state(...from), to: state(...to) } as unknown as Step
          const matches =
            (p.mover === undefined || p.mover === mover) &&
            (p.action === undefined || p.action === action) &&
            (p.grows === undefined || (to[p.grows] ?? 0n) > (from[p.grows] ?? 0n))
          assert.equal(refusalOf(policy, step), matches ? 'no' : undefined)
        },
      ),
    )
  })

  it("reads the node's stream: amounts become bigints; anything else, or malformed, is left out", () => {
    const hash = `0x${'ab'.repeat(32)}` as Hex
    assert.deepEqual(
      wireToDemoNodeEvent({ source: 'chain', channelId: hash, step: 'deposit', gasUsed: '71670', hash }),
      { source: 'chain', channelId: hash, step: 'deposit', gasUsed: 71_670n, hash },
    )
    assert.deepEqual(
      wireToDemoNodeEvent({
        source: 'party',
        event: {
          type: 'refused',
          channelId: hash,
          version: '2',
          from: zeroAddress,
          reason: 'refused',
          message: 'no',
        },
      }),
      {
        source: 'refused',
        channelId: hash,
        version: 2n,
        from: zeroAddress,
        reason: 'refused',
        message: 'no',
      },
    )
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const e = wireToDemoNodeEvent(v)
        const src = (v as { source?: unknown } | null)?.source
        if (e === undefined) return
        assert.ok(src === 'chain' || src === 'input' || src === 'party')
      }),
    )
    for (const bad of [
      null,
      3,
      'x',
      { source: 'chain', gasUsed: 5 },
      { source: 'party', event: { type: 'committed' } },
    ])
      assert.equal(wireToDemoNodeEvent(bad), undefined)
  })

  it('both APIs serve the channel while the demo runs; afterwards the node processes are gone', async () => {
    const seen: Promise<ChannelSummary[]>[] = []
    const urls: string[] = []
    const before = children()
    let nodeArgs: string[][] = []
    const s = await runEscrowDemo({
      refuse: true,
      onEvent: (e) => {
        if (e.kind === 'nodes') {
          urls.push(String(e.data?.['payer.api']), String(e.data?.['payee.api']))
          nodeArgs = children()
            .filter((p) => !before.includes(p))
            .map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'))
            .filter((args) => args.some((a) => a.endsWith('demoNode.mjs')))
        }
        // The channel as each node's API lists it, right after both opened it.
        if (e.kind === 'opened') for (const url of urls) seen.push(createApiClient({ url }).listChannels())
      },
    })
    assert.equal(s.ok, true)
    assert.equal(urls.length, 2)
    // Each node is a process of its own, started without this one's tsx (mocha's --import tsx): the
    // node runs the bundle, or registers tsx itself when the bundle is stale.
    assert.equal(nodeArgs.length, 2, JSON.stringify(nodeArgs))
    for (const args of nodeArgs) assert.ok(!args.some((a) => /tsx/.test(a)), args.join(' '))
    assert.ok(urls.every((u) => /^http:\/\/127\.0\.0\.1:\d+$/.test(u)))
    const [payerView, payeeView] = await Promise.all(seen)
    assert.deepEqual(
      [payerView, payeeView].map((l) => l?.map((c) => [c.channelId, c.app, c.me])),
      [[[s.channelId, 'escrow', 0]], [[s.channelId, 'escrow', 1]]],
    )
    // The dispute steps of the payee's node sent the forced move and the conclusion.
    assert.deepEqual(
      s.gas.transactions.filter((t) => t.by === 'payee').map((t) => t.action),
      ['forceProgress', 'conclude', 'withdraw'],
    )
    for (const url of urls)
      await assert.rejects(createApiClient({ url, timeoutMs: 2_000 }).health(), (e: unknown) => {
        assert.ok(e instanceof ApiError)
        assert.equal(e.code, 'UNREACHABLE')
        return true
      })
    assert.deepEqual(
      children().filter((p) => !before.includes(p)),
      [],
    )
  })

  describe('a node that cannot start', () => {
    let anvil: Anvil
    let broker: EmbeddedBroker
    let dir: string
    before(async () => {
      anvil = await startAnvil()
      broker = await startEmbeddedBroker()
      dir = mkdtempSync(join(tmpdir(), 'chanvm-demo-node-'))
    })
    after(async () => {
      await broker.close()
      await anvil.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    for (const separate of [true, false])
      it(`is a CONFIG error and leaves nothing running (${separate ? 'own process' : 'this process'})`, async () => {
        const before = children()
        await assert.rejects(
          startDemoNode({
            role: 'payer',
            dir: join(dir, `payer-${separate}`),
            privateKey: generatePrivateKey(),
            scryptN: 1024,
            // The endpoint is chain 31337: a node configured for chain 1 must not start.
            config: {
              chain: { rpcUrl: anvil.rpcUrl, chainId: 1, adjudicator: zeroAddress },
              broker: { url: broker.url },
            },
            separate,
          }),
          (e: unknown) => {
            assert.ok(e instanceof ChanvmError)
            assert.equal(e.code, 'CONFIG')
            return true
          },
        )
        await new Promise((r) => setTimeout(r, 200))
        assert.deepEqual(
          children().filter((p) => !before.includes(p)),
          [],
        )
      })
  })
})
