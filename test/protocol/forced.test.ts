import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther } from 'viem'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { encodeState, getChannelId, type Env, type ForcedChain } from '../../engine/channel/index.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty, type Party } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { createWatcher, type Watcher } from '../../engine/watcher/createWatcher.ts'
import { startChainFixture, type ChainFixture, type Party as ChainParty } from '../support/anvilFixture.ts'

/**
 * A stalled peer is taken to the chain, both watchers hand the forced chain to their parties, which
 * re-run it and take its last state as their base, and the channel goes on off chain on top of it;
 * the next co-signed state then replaces the forced chain on chain.
 */
describe('protocol: continuing off chain on top of a forced state (on anvil)', function () {
  this.timeout(120_000)
  let f: ChainFixture
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-forced-'))
  const closers: (() => Promise<unknown>)[] = []
  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined)
    await f?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a forced step becomes both parties’ base, the next step is co-signed on it and outranks it on chain', async () => {
    const params = f.escrowParams()
    const channelId = getChannelId(params)
    const initial = f.state(params, 0n, [parseEther('5'), parseEther('5')])
    const hub = createMemoryHub()
    const head = async (): Promise<Env> => {
      const b = await f.alice.client.publicClient.getBlock()
      return { blockNumber: b.number, timestamp: b.timestamp }
    }
    const stores: Record<string, ChannelStore> = {}
    const chains: ForcedChain[] = []
    const start = async (who: ChainParty, name: string): Promise<{ party: Party; watcher: Watcher }> => {
      const store = (stores[name] = createSqliteStore({ path: join(dir, `${name}.db`) }))
      const signer = createKeySigner(who.privateKey)
      const party = await createParty({
        signer,
        transport: hub.connect(who.address),
        store,
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: head,
        responseTimeoutMs: 1_000,
      })
      const watcher = createWatcher({
        client: who.client,
        store,
        signer,
        pollingIntervalMs: 50,
        onForcedChain: async (chain) => {
          chains.push(chain)
          const r = await party.adoptForcedChain(chain)
          assert.ok(r.ok, r.ok ? '' : r.message)
        },
      })
      watcher.watch(params)
      watcher.start()
      closers.push(
        () => watcher.stop(),
        () => party.close(),
        () => store.close(),
      )
      return { party, watcher }
    }
    const alice = await start(f.alice, 'alice')
    const bob = await start(f.bob, 'bob')
    await Promise.all([alice.party.open(params, initial), bob.party.open(params, initial)])
    await deposit(f.alice.client, { channelId, participant: f.alice.address, amount: parseEther('5') })
    await deposit(f.bob.client, { channelId, participant: f.bob.address, amount: parseEther('5') })
    for (const [who, p] of [
      [f.alice, alice],
      [f.bob, bob],
    ] as const) {
      const funded = await p.party.confirmFunding(
        channelId,
        await getDeposits(who.client, channelId, params.participants),
      )
      assert.ok(funded.ok)
    }

    const funded = await alice.party.update(channelId, escrowActions.fund(parseEther('1'), 10n ** 12n))
    assert.ok(funded.ok)

    // Bob stalls: nothing reaches him. Alice's release times out, so she forces it on chain.
    hub.setFilter((to) => to.toLowerCase() === f.bob.address.toLowerCase())
    const stalled = await alice.party.update(channelId, escrowActions.release())
    assert.equal(stalled.ok ? 'ok' : stalled.reason, 'peer-timeout')
    const forced = await alice.watcher.forceProgress(channelId, { action: escrowActions.release() })
    assert.equal(forced.state.version, 2n)

    // Both watchers report it; both parties re-run it and take it as their base.
    for (const p of [alice.party, bob.party]) {
      for (const end = Date.now() + 30_000; (await p.base(channelId))?.version !== 2n && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 50))
      const base = await p.base(channelId)
      assert.ok(
        base !== undefined && encodeState(base) === encodeState(forced.state),
        'the adopted base is the forced state',
      )
    }
    assert.equal(
      (await bob.party.latest(channelId))?.state.version,
      1n,
      'the forced state is a base, not a co-signed state',
    )

    // Bob is back: the next step is co-signed on top of the forced state ...
    hub.setFilter(undefined)
    // Whichever watcher sees the co-signed version 3 first registers it.
    const refuted = Promise.any(
      [alice, bob].map((p) => p.watcher.waitFor((e) => e.type === 'refuted' && e.version === 3n, 20_000)),
    )
    const next = await alice.party.update(channelId, escrowActions.fund(parseEther('2'), 10n ** 12n))
    assert.ok(next.ok, next.ok ? '' : next.reason)
    if (!next.ok) return
    assert.equal(next.signed.state.version, 3n)
    assert.deepEqual(
      next.signed.state.balances,
      [parseEther('4'), parseEther('6')],
      'the release forced on chain stands',
    )
    await bob.party.waitForVersion(channelId, 3n, 30_000) // its 1 s response time is short for a loaded machine

    // ... and a watcher puts it on chain over the forced version 2.
    await refuted
    const rec = await getChannelRecord(f.alice.client, channelId)
    assert.equal(rec.version, 3n)
    assert.equal(rec.forced, false)

    // The forced chain grew from version 1, below the co-signed version 3 now: never adopted again.
    const chain = chains.find((c) => c.moves.at(-1)?.state.version === 2n)
    assert.ok(chain !== undefined)
    assert.equal(chain.base.version, 1n)
    const again = await bob.party.adoptForcedChain(chain)
    assert.equal(again.ok ? 'ok' : again.reason, 'older-base')
  })
})
