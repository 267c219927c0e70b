import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { paramsToWire, stateToWire } from '../../engine/channel/wire.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty, type PartyEvent } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('protocol: re-sync of lost commits and acknowledgement after store', function () {
  this.timeout(20_000)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-resync-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('a commit lost on a final state heals: the signer asks for it and the mover answers', async () => {
    // The payee asks for the commit once it waited responseTimeoutMs; the mover waits as long for
    // the payee's signature, which on a loaded machine takes more than a few hundred ms.
    const { channelId, hub, payer, payee, events } = await twoEscrowParties({
      partyOptions: { responseTimeoutMs: 2_000 },
    })
    hub.setFilter((to, m) => to === testAddresses[1] && m.type === 'commit')
    const closed = await payer.update(channelId, escrowActions.close())
    assert.ok(closed.ok && closed.signed.state.isFinal)
    await hub.settled()
    assert.equal((await payee.latest(channelId))?.state.version, 0n, 'the commit was lost')
    hub.setFilter(undefined)
    const final = await payee.waitForVersion(channelId, 1n, 30_000)
    assert.equal(final.state.isFinal, true)
    assert.ok(events[1].some((e) => e.type === 'sync' && e.direction === 'asked' && e.version === 1n))
    assert.ok(events[0].some((e) => e.type === 'sync' && e.direction === 'answered'))
  })

  it('a lost commit is also healed by the next proposal’s base signatures', async () => {
    const { channelId, hub, payer, payee } = await twoEscrowParties({
      partyOptions: { responseTimeoutMs: 5_000 },
    })
    hub.setFilter((to, m) => to === testAddresses[1] && m.type === 'commit')
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    hub.setFilter(undefined)
    assert.ok((await payer.update(channelId, escrowActions.release())).ok)
    assert.equal((await payee.waitForVersion(channelId, 2n)).state.version, 2n)
  })

  it('a party restarted from its file re-sends its latest co-signed state; one holding a signature without its commit asks for it', async () => {
    const { params, channelId, initial } = escrowChannel({ nonce: 7n })
    const hub = createMemoryHub()
    const paths = [join(dir, 'a.db'), join(dir, 'b.db')] as const
    const events: [PartyEvent[], PartyEvent[]] = [[], []]
    const start = async (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i]!),
        store: createSqliteStore({ path: paths[i] }),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 60_000,
        onEvent: (e) => events[i].push(e),
      })
    let payer = await start(0)
    let payee = await start(1)
    await Promise.all([payer.open(params, initial), payee.open(params, initial)])
    for (const p of [payer, payee]) assert.ok((await p.confirmFunding(channelId, initial.balances)).ok)
    // Version 1: the commit to the payee is lost, then both stop.
    hub.setFilter((to, m) => to === testAddresses[1] && m.type === 'commit')
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    await hub.settled()
    await payer.close()
    await payee.close()
    hub.setFilter(undefined)
    // The payee restarts first: it holds its signature on version 1 without the commit and asks;
    // nobody answers (the payer is down). When the payer restarts, it re-sends version 1.
    payee = await start(1)
    assert.ok(events[1].some((e) => e.type === 'sync' && e.direction === 'asked' && e.version === 1n))
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
    payer = await start(0)
    assert.equal((await payee.waitForVersion(channelId, 1n, 5_000)).state.version, 1n)
    // The funding was kept, and the channel goes on.
    const next = await payer.update(channelId, escrowActions.release())
    assert.ok(
      next.ok,
      JSON.stringify(next, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
    await payer.close()
    await payee.close()
  })

  it('a mover whose accepts were lost finishes its own proposal when the signer asks for the commit', async () => {
    // The payee asks for the commit once it waited responseTimeoutMs; the mover waits as long for
    // the payee's signature, which on a loaded machine takes more than a few hundred ms.
    const { channelId, hub, payer, payee, events } = await twoEscrowParties({
      partyOptions: { responseTimeoutMs: 2_000 },
    })
    hub.setFilter((to, m) => to === testAddresses[0] && m.type === 'accept')
    const r = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.equal(r.ok ? 'ok' : r.reason, 'peer-timeout')
    hub.setFilter(undefined)
    // The payee holds its signature on version 1 without a commit: it asks, showing the payer's own
    // proposal; the payer signs last and commits.
    const v1 = await payee.waitForVersion(channelId, 1n, 5_000)
    assert.deepEqual(await payer.latest(channelId), v1)
    assert.ok(events[0].some((e) => e.type === 'committed' && e.state.version === 1n))
  })

  it('a conflicting-signature refusal shows the mover its earlier proposal; the mover finishes it and does not apply the new action', async () => {
    const { channelId, hub, payer, payee } = await twoEscrowParties({
      partyOptions: { responseTimeoutMs: 300 },
    })
    // Neither the accept nor the payee's sync requests reach the payer: only the refusal can tell it.
    hub.setFilter((to, m) => to === testAddresses[0] && (m.type === 'accept' || m.type === 'sync'))
    const r1 = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.equal(r1.ok ? 'ok' : r1.reason, 'peer-timeout')
    hub.setFilter((to, m) => to === testAddresses[0] && m.type === 'sync')
    const r2 = await payer.update(channelId, escrowActions.fund(20n, deadline))
    assert.equal(r2.ok ? 'ok' : r2.reason, 'conflict')
    const finished = !r2.ok && r2.reason === 'conflict' ? r2.finished : undefined
    assert.equal(finished?.state.version, 1n)
    assert.deepEqual(finished?.state.balances, (await payee.waitForVersion(channelId, 1n)).state.balances)
    assert.equal(payee.stats()['conflicting-signature'], 1)
    hub.setFilter(undefined)
    assert.ok(
      (await payer.update(channelId, escrowActions.release())).ok,
      'the channel goes on from the finished state',
    )
  })

  it('a sync request is answered with the latest co-signed state', async () => {
    const { channelId, hub, payer, payee } = await twoEscrowParties({
      partyOptions: { responseTimeoutMs: 60_000 },
    })
    hub.setFilter((to, m) => to === testAddresses[1] && m.type === 'commit')
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    hub.setFilter(undefined)
    // Asked for version 1 (here on the payee's behalf), the payer answers with a self-authenticating commit.
    const raw = hub.connect(testAddresses[1]!)
    await raw.send(testAddresses[0]!, { type: 'sync', channelId, from: testAddresses[1]!, version: '1' })
    assert.equal((await payee.waitForVersion(channelId, 1n, 5_000)).state.version, 1n)
  })

  it('the transport acknowledges a message only after its handler stored what it carried; one for an unknown channel is acknowledged, dropped and counted', async () => {
    const { channelId, hub, payer, payee } = await twoEscrowParties()
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    await hub.settled()
    // Every delivery of the step resolved only after the store: the payee holds version 1 now.
    assert.equal((await payee.latest(channelId))?.state.version, 1n)
    assert.deepEqual(hub.unacknowledged(), [])
    const raw = hub.connect(testAddresses[0]!)
    const unknown = `0x${'77'.repeat(32)}` as Hex
    await raw.send(testAddresses[1]!, {
      type: 'commit',
      channelId: unknown,
      from: testAddresses[0]!,
      version: '1',
      digest: unknown,
      sigs: [],
    })
    await hub.settled()
    // Left unacknowledged it would come back for ever and hold a slot of the broker's window.
    assert.deepEqual(hub.unacknowledged(), [])
    assert.equal(payee.stats()['unknown-channel'], 1)
    await assert.rejects(
      payee.latest(unknown),
      (e: Error & { code?: string }) => e.code === 'CHANNEL_NOT_FOUND',
    )
  })

  it('an open that arrives before this party opens the channel is held and handled once it does', async () => {
    const { params, initial } = escrowChannel({ nonce: 8n })
    const hub = createMemoryHub()
    const mk = async (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i]!),
        store: createMemoryStore(),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 2_000,
      })
    const a = await mk(0)
    const b = await mk(1)
    const opening = a.open(params, initial)
    await sleep(100) // a's open reached b, which has not opened the channel: held, not acknowledged yet
    let settled = false
    void hub.settled().then(() => (settled = true))
    await sleep(50)
    assert.equal(settled, false, 'the held message’s handler has not resolved')
    const [sa, sb] = await Promise.all([opening, b.open(params, initial)])
    assert.deepEqual(sa, sb)
    await hub.settled()
    assert.deepEqual(hub.unacknowledged(), [])
    await a.close()
    await b.close()
  })

  it('an open lost on the way still opens both: the party that completes it commits version 0 to the others', async () => {
    const { params, initial } = escrowChannel({ nonce: 10n })
    const hub = createMemoryHub()
    // The payee's open never reaches the payer.
    hub.setFilter((to, m) => to === testAddresses[0] && m.type === 'open')
    const mk = async (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i]!),
        store: createMemoryStore(),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 2_000,
      })
    const a = await mk(0)
    const b = await mk(1)
    const [sa, sb] = await Promise.all([a.open(params, initial), b.open(params, initial)])
    assert.deepEqual(sa, sb)
    await a.close()
    await b.close()
  })

  it('a peer that missed every message of the open catches up from the first proposal’s base signatures', async () => {
    const { params, channelId, initial } = escrowChannel({ nonce: 11n })
    const hub = createMemoryHub()
    const mk = async (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i]!),
        store: createMemoryStore(),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 1_000,
        requireFunding: false,
      })
    const a = await mk(0)
    const b = await mk(1)
    // Nothing reaches the payee but proposals: the payer completes the open, the payee does not.
    hub.setFilter((to, m) => to === testAddresses[1] && m.type !== 'propose')
    const opening = b.open(params, initial).catch(() => undefined)
    await a.open(params, initial)
    hub.setFilter(undefined)
    const r = await a.update(channelId, escrowActions.fund(10n, deadline))
    assert.ok(
      r.ok,
      JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
    assert.equal((await b.waitForVersion(channelId, 1n)).state.version, 1n)
    await opening
    await a.close()
    await b.close()
  })

  it('an open whose party never opens the channel is given up: acknowledged, dropped and counted', async () => {
    const { params, channelId, initial } = escrowChannel({ nonce: 9n })
    const hub = createMemoryHub()
    const b = await createParty({
      signer: createKeySigner(testKeys[1]!),
      transport: hub.connect(testAddresses[1]!),
      store: createMemoryStore(),
      sandbox: await createSandbox(),
      apps: [escrowApp],
      responseTimeoutMs: 50,
    })
    const raw = hub.connect(testAddresses[0]!)
    const open: PeerMessage = {
      type: 'open',
      channelId,
      from: testAddresses[0]!,
      params: paramsToWire(params),
      state: stateToWire(initial),
      sig: `0x${'00'.repeat(65)}`,
    }
    await raw.send(testAddresses[1]!, open)
    await hub.settled()
    // Held for 3 x responseTimeoutMs, then dropped: redelivered it would only be held again.
    assert.deepEqual(hub.unacknowledged(), [])
    assert.equal(b.stats()['unknown-channel'], 1)
    await b.close()
  })
})
