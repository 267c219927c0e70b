import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { decodeEscrowData, escrowActions, escrowApp, signRuling } from '../../apps/escrow/escrowClient.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createParty, type PartyEvent } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { heldSyncs } from '../support/heldSyncs.ts'
import { interceptArrivals } from '../support/interceptArrivals.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The versions the payee's file holds signature records of, read through a connection of its own. */
function recordedVersions(path: string): bigint[] {
  const db = new Database(path, { readonly: true })
  try {
    return (db.prepare('SELECT version FROM signatures ORDER BY version').all() as { version: string }[]).map(
      (r) => BigInt(r.version),
    )
  } finally {
    db.close()
  }
}

const settled = (p: Promise<unknown>) => {
  const s = { done: false, error: undefined as unknown }
  p.then(
    () => (s.done = true),
    (e: unknown) => {
      s.done = true
      s.error = e
    },
  )
  return s
}

const isStoreError = (e: Error & { code?: string }) => e.code === 'STORE_ERROR'

/**
 * The payer and a payee whose store answers whenDurable late while `hold.on` (each held sync in
 * `held`; its reads do not wait, so the payee proposes on the written, not yet durable, version
 * 1): the payer funds (version 1), the payee proposes the arbiter's refund ruling on version 1, and
 * this returns once the payer has signed it (version 2), with the payee's update still running.
 */
async function rulingBehindHeldSync(responseTimeoutMs: number) {
  const hold = { on: false }
  const held: { release: () => void; fail: (e: unknown) => void }[] = []
  const memory = createMemoryStore()
  const store: typeof memory = {
    ...memory,
    whenDurable: () =>
      hold.on ? new Promise<void>((release, fail) => held.push({ release, fail })) : memory.whenDurable(),
  }
  const parties = await twoEscrowParties({
    stores: [createMemoryStore(), store],
    partyOptions: { responseTimeoutMs },
  })
  const { channelId, params, payer, payee, events } = parties
  hold.on = true
  assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
  while (held.length === 0) await sleep(5)
  const funded = (await payer.latest(channelId))!.state
  const escrowId = decodeEscrowData(funded.appData).escrowId
  const ruling = escrowActions.ruling(false, signRuling(params, channelId, escrowId, false, testKeys[2]!))
  const update = payee.update(channelId, ruling)
  const updateEnd = settled(update)
  // The payer signs the payee's proposal; the update's result waits for the held sync.
  while (!events[0].some((e) => e.type === 'signed' && e.version === 2n)) await sleep(5)
  return { ...parties, hold, held, update, updateEnd }
}

describe('protocol: a co-signed state is written before it is durable', function () {
  this.timeout(30_000)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-durable-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  /**
   * Payer (memory store) and payee (SQLite file whose syncs the test holds). The payee's handler is
   * wrapped as the transport sees it: `acks` holds the promise of each message's delivery, whose
   * resolution is the acknowledgement; the syncs are held from the moment the commit of `holdAt`
   * arrives.
   */
  const start = async (name: string, holdAt: string) => {
    const path = join(dir, `${name}.db`)
    const syncs = heldSyncs()
    const hub = createMemoryHub()
    const acks: { m: PeerMessage; ack: ReturnType<typeof settled>; p: Promise<void> }[] = []
    interceptArrivals(hub, testAddresses[1]!, (m, handle) => {
      if (m.type === 'commit' && m.version === holdAt) syncs.hold()
      const p = handle()
      acks.push({ m, ack: settled(p), p })
      return p
    })
    const parties = await twoEscrowParties({
      hub,
      stores: [createMemoryStore(), createSqliteStore({ path, syncFile: syncs.syncFile })],
      partyOptions: { responseTimeoutMs: 20_000 },
    })
    const commitAck = () => acks.find((a) => a.m.type === 'commit' && a.m.version === holdAt)
    return { ...parties, path, syncs, acks, commitAck }
  }
  const committed = (events: PartyEvent[], version: bigint) =>
    events.some((e) => e.type === 'committed' && e.state.version === version)

  it('the next proposal is signed and recorded while the commit before it waits for its sync; the commit is acknowledged, reported and shown only once durable', async () => {
    const { channelId, payer, payee, events, path, syncs, acks, commitAck, hub } = await start('held', '1')
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    // The payer has version 1 co-signed; the payee wrote it, and its sync is held.
    while (commitAck() === undefined || syncs.waiting() === 0) await sleep(5)
    const next = payer.update(channelId, escrowActions.release())
    const end = Date.now() + 5_000
    while (!recordedVersions(path).includes(2n) && Date.now() < end) await sleep(10)
    assert.deepEqual(
      recordedVersions(path).filter((v) => v >= 1n),
      [1n, 2n],
      'the payee handled the next proposal and wrote its record while the commit of version 1 waits for its sync',
    )
    assert.ok(syncs.waiting() > 0, 'the sync is still held')
    assert.equal(commitAck()?.ack.done, false, 'the commit must not be acknowledged before its sync')
    assert.equal(committed(events[1], 1n), false, 'the commit must not be reported before its sync')
    assert.equal((await payee.latest(channelId))?.state.version, 0n, 'latest shows only a durable state')
    const waited = settled(payee.waitForVersion(channelId, 1n, 10_000))
    // The same commit again (a redelivery): handled at once, and not acknowledged before the sync either.
    const again = acks.length
    await hub.connect(testAddresses[0]!).send(testAddresses[1]!, commitAck()!.m)
    while (acks.length === again) await sleep(5)
    const redelivered = acks[again]!
    assert.equal(redelivered.m.type, 'commit')
    await sleep(50)
    assert.equal(redelivered.ack.done, false, 'a redelivered commit must not be acknowledged before its sync')
    assert.equal(waited.done, false, 'waitForVersion must not see a state before it is durable')
    assert.equal(
      events[1].some((e) => e.type === 'signed' && e.version === 2n),
      false,
      'the signature on version 2 waits for its own record to be durable',
    )
    syncs.release()
    await commitAck()?.p
    await redelivered.p
    assert.ok(committed(events[1], 1n), 'reported once durable')
    while (!waited.done) await sleep(5)
    assert.equal(waited.error, undefined)
    const r = await next
    assert.ok(r.ok)
    assert.equal((await payee.waitForVersion(channelId, 2n, 5_000)).state.version, 2n)
    await hub.settled()
    assert.deepEqual(hub.unacknowledged(), [])
    // Reported in order: version 1 before version 2.
    const order = events[1].flatMap((e) => (e.type === 'committed' ? [e.state.version] : []))
    assert.deepEqual(order, [0n, 1n, 2n])
    await payer.close()
    await payee.close()
  })

  it('a failed sync of a written commit leaves it unacknowledged and reports the store error; nothing shows it', async () => {
    const { channelId, payer, payee, events, syncs, commitAck, hub } = await start('failed', '1')
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    while (commitAck() === undefined || syncs.waiting() === 0) await sleep(5)
    syncs.fail(Object.assign(new Error('disk I/O error'), { code: 'EIO' }))
    await assert.rejects(commitAck()!.p, (e: Error & { code?: string }) => e.code === 'STORE_ERROR')
    await hub.settled()
    assert.ok(
      hub.unacknowledged().some((u) => u.message.type === 'commit' && u.message.version === '1'),
      'the commit stays unacknowledged (the broker redelivers it)',
    )
    assert.ok(events[1].some((e) => e.type === 'store-error' && e.channelId === channelId))
    assert.ok(payee.stats()['store-error']! >= 1)
    assert.equal(committed(events[1], 1n), false, 'a commit whose sync failed is never reported')
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
    await assert.rejects(payee.waitForVersion(channelId, 1n, 300))
    await payer.close()
    await payee.close().catch(() => undefined)
  })

  it('after a failed sync, waitForVersion ends with the store error at once, not a time-out', async () => {
    const { channelId, payer, payee, syncs, commitAck } = await start('failed-waits', '1')
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    while (commitAck() === undefined || syncs.waiting() === 0) await sleep(5)
    const waited = payee.waitForVersion(channelId, 1n, 10_000)
    const waitedEnd = settled(waited)
    await sleep(50)
    assert.equal(waitedEnd.done, false, 'version 1 is not shown before its sync')
    const failedAt = Date.now()
    syncs.fail(Object.assign(new Error('disk I/O error'), { code: 'EIO' }))
    await assert.rejects(waited, isStoreError)
    assert.ok(Date.now() - failedAt < 3_000, 'it ends at once, not after its time limit (10 s)')
    await assert.rejects(payee.waitForVersion(channelId, 1n, 5_000), isStoreError)
    assert.equal(
      (await payee.waitForVersion(channelId, 0n, 100)).state.version,
      0n,
      'a durable state is still shown',
    )
    await payer.close()
    await payee.close().catch(() => undefined)
  })

  it('an update accepted while the commit before it waits for a sync that fails ends with the store error at once, not after its time limit', async () => {
    const { channelId, payer, payee, held, update, updateEnd } = await rulingBehindHeldSync(20_000)
    await sleep(50)
    assert.equal(updateEnd.done, false, 'the result waits for the sync before it')
    const failedAt = Date.now()
    for (const h of held.splice(0)) h.fail(new ChanvmError('STORE_ERROR', 'disk I/O error'))
    await assert.rejects(update, isStoreError)
    assert.ok(Date.now() - failedAt < 3_000, 'the update ends at once, not after its time limit (20 s)')
    assert.equal((await payee.latest(channelId))?.state.version, 0n, 'nothing whose sync failed is shown')
    await payer.close()
    await payee.close().catch(() => undefined)
  })

  it('an update accepted while the commit before it waits for a sync longer than the time limit succeeds once both are durable', async () => {
    const { channelId, payer, payee, hold, held, update, updateEnd } = await rulingBehindHeldSync(500)
    await sleep(800) // longer than the time limit
    assert.equal(updateEnd.done, false, 'the result waits until what came before it is durable')
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
    hold.on = false
    for (const h of held.splice(0)) h.release()
    const r = await update
    assert.equal(r.ok ? r.signed.state.version : r.reason, 2n, 'accepted by the payer: it is co-signed')
    assert.equal((await payee.latest(channelId))?.state.version, 2n)
    await payer.close()
    await payee.close()
  })

  /**
   * The payee opens first; the payer's open then completes the payee's open, and the payee's
   * syncs are held from the moment that open arrives: the co-signed initial state is written, not
   * durable.
   */
  const startOpen = async (name: string) => {
    const path = join(dir, `${name}.db`)
    const syncs = heldSyncs()
    const hub = createMemoryHub()
    const ch = escrowChannel()
    let openArrived = false
    interceptArrivals(hub, testAddresses[1]!, (m, handle) => {
      if (m.type === 'open') {
        syncs.hold()
        openArrived = true
      }
      return handle()
    })
    const make = async (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i]!),
        store: i === 0 ? createMemoryStore() : createSqliteStore({ path, syncFile: syncs.syncFile }),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 2_000,
        onEvent: (e) => events[i].push(e),
      })
    const events: [PartyEvent[], PartyEvent[]] = [[], []]
    const payer = await make(0)
    const payee = await make(1)
    const first = payee.open(ch.params, ch.initial)
    const firstEnd = settled(first)
    // The payee's own signature on the initial state is recorded (durable) before the payer opens.
    while (!events[1].some((e) => e.type === 'signed' && e.version === 0n)) await sleep(5)
    assert.equal(openArrived, false, 'the payer has not opened yet')
    await payer.open(ch.params, ch.initial)
    while (!openArrived || syncs.waiting() === 0) await sleep(5)
    return { ...ch, payer, payee, syncs, first, firstEnd }
  }

  it('open hands out the co-signed initial state only once durable; a failed sync ends every open with the store error at once', async () => {
    const { params, initial, payer, payee, syncs, first, firstEnd } = await startOpen('open-failed')
    const second = payee.open(params, initial)
    const secondEnd = settled(second)
    await sleep(50)
    assert.equal(secondEnd.done, false, 'a second open must not hand out the initial state before its sync')
    assert.equal(firstEnd.done, false, 'the first open must not end before the sync')
    const failedAt = Date.now()
    syncs.fail(Object.assign(new Error('disk I/O error'), { code: 'EIO' }))
    await assert.rejects(first, isStoreError)
    await assert.rejects(second, isStoreError)
    assert.ok(Date.now() - failedAt < 1_500, 'both opens end at once, not after the peer timeout')
    await assert.rejects(payee.open(params, initial), isStoreError)
    await payer.close()
    await payee.close().catch(() => undefined)
  })

  it("base and phase show only a durable state: after the initial state's sync failed the channel is still opening", async () => {
    const { channelId, payer, payee, syncs, first } = await startOpen('open-phase')
    assert.equal(payee.phase(channelId), 'opening', 'the initial state is not durable yet')
    assert.equal(await payee.base(channelId), undefined)
    syncs.fail(Object.assign(new Error('disk I/O error'), { code: 'EIO' }))
    await assert.rejects(first, isStoreError)
    assert.equal(await payee.latest(channelId), undefined)
    assert.equal(payee.phase(channelId), 'opening', 'a state whose sync failed is never shown as co-signed')
    assert.equal(await payee.base(channelId), undefined)
    assert.equal(payer.phase(channelId), 'funding', 'the payer, whose store is durable, is co-signed')
    await payer.close()
    await payee.close().catch(() => undefined)
  })
})
