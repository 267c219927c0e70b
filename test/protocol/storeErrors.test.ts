import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { faultyStore, sqliteError } from '../support/faultyStore.ts'
import { holdingTransport } from '../support/holdingTransport.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n
const isStoreError = (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR'

describe('protocol: store errors (read-only file, full disk, I/O error)', function () {
  this.timeout(20_000)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-storeerr-'))
  const immutable: string[] = []
  after(() => {
    for (const f of immutable) execFileSync('chattr', ['-i', f])
    rmSync(dir, { recursive: true, force: true })
  })

  it('a read-only database file fails at start, not at the first signature', function () {
    const path = join(dir, 'ro.db')
    createSqliteStore({ path })
      .close()
      .catch(() => undefined)
    chmodSync(path, 0o444)
    if (process.getuid?.() === 0) {
      // chmod does not stop root: make the file immutable instead, where the file system allows it.
      try {
        execFileSync('chattr', ['+i', path], { stdio: 'ignore' })
        immutable.push(path)
      } catch {
        this.skip()
      }
    }
    assert.throws(
      () => createSqliteStore({ path }),
      (e: unknown) => isStoreError(e) && /SQLITE_READONLY|readonly/i.test(String((e as ChanvmError).cause)),
    )
  })

  it('a party whose store cannot write refuses to start', async () => {
    const store = faultyStore(createMemoryStore(), {
      failing: () => true,
      error: () => sqliteError('SQLITE_READONLY'),
    })
    await assert.rejects(
      createParty({
        signer: createKeySigner(testKeys[0]!),
        transport: createMemoryHub().connect(testAddresses[0]!),
        store,
        sandbox: await createSandbox(),
        apps: [escrowApp],
      }),
      (e: unknown) => isStoreError(e) && /SQLITE_READONLY/.test((e as Error).message),
    )
  })

  for (const code of ['SQLITE_FULL', 'SQLITE_IOERR'] as const) {
    it(`${code} while signing a proposal: a signed refusal naming it, counted and reported, not acknowledged; not a verdict (peer-timeout); the channel goes on once the disk recovers`, async () => {
      let failing = false
      const store = faultyStore(createMemoryStore(), {
        failing: () => failing,
        error: () => sqliteError(code),
      })
      const { channelId, hub, payer, payee, events } = await twoEscrowParties({
        stores: [createMemoryStore(), store],
      })
      failing = true
      const r = await payer.update(channelId, escrowActions.fund(10n, deadline))
      // The payee recorded nothing and would sign the proposal when it comes again: "not co-signed
      // yet", never "refused", so the payer's caller does not take it for a step that failed.
      assert.deepEqual(r.ok ? 'ok' : r, { ok: false, reason: 'peer-timeout', missing: [testAddresses[1]] })
      const told = events[0].find((e) => e.type === 'peer-refused')
      assert.equal(
        told?.type === 'peer-refused' ? told.reason : undefined,
        'store-error',
        'the mover learns why at once',
      )
      assert.match(told?.type === 'peer-refused' ? told.message : '', new RegExp(code))
      await hub.settled()
      assert.equal(payee.stats()['store-error'], 1)
      assert.equal(payee.stats()['malformed'], undefined, 'a store error is not a malformed message')
      assert.ok(events[1].some((e) => e.type === 'store-error' && e.message.includes(code)))
      assert.ok(
        hub.unacknowledged().some((u) => u.to === testAddresses[1] && u.message.type === 'propose'),
        'the proposal was not acknowledged',
      )
      assert.equal(
        events[1].filter((e) => e.type === 'signed' && e.version === 1n).length,
        0,
        'nothing was signed',
      )
      failing = false
      assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    })
  }

  it('after the disk recovers, a redelivered proposal is signed while the transport holds sends (as after a reconnect), and the party’s update still returns', async function () {
    // The story: a store error leaves a proposal unacknowledged, the MQTT link reconnects so that
    // the broker sends it again, and MQTT.js holds new publishes until it re-sent its stored ones
    // and read their acknowledgement, which it reads only after the handler in hand returned.
    this.timeout(15_000)
    let failing = false
    let replaying = false
    const hub = createMemoryHub()
    const store = faultyStore(createMemoryStore(), {
      failing: () => failing,
      error: () => sqliteError('SQLITE_FULL'),
    })
    const sandbox = await createSandbox()
    const make = (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: holdingTransport(hub.connect(testAddresses[i]!), { holding: () => i === 1 && replaying }),
        store: i === 1 ? store : createMemoryStore(),
        sandbox,
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 500,
        requireFunding: false,
      })
    const [payer, payee] = await Promise.all([make(0), make(1)])
    const ch = escrowChannel()
    await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])

    failing = true
    await payer.update(ch.channelId, escrowActions.fund(10n, deadline))
    await hub.settled()
    const proposal = hub
      .unacknowledged()
      .find((u) => u.to === testAddresses[1] && u.message.type === 'propose')
    assert.ok(proposal !== undefined, 'the proposal was left unacknowledged')

    // The disk recovers; the link reconnects and the broker sends the proposal again.
    failing = false
    replaying = true
    await hub.connect(testAddresses[0]!).send(testAddresses[1]!, proposal.message)
    await hub.settled()
    assert.equal(
      (await store.getSignatureRecord(ch.channelId, 1n))?.version,
      1n,
      'the payee signed the redelivered proposal',
    )
    replaying = false

    // The payee's channel is not blocked: its own update runs (a release is the payer's to make,
    // so the sandbox rejects it), and both end at one state.
    const r = await payee.update(ch.channelId, escrowActions.release())
    assert.equal(r.ok ? 'ok' : r.reason, 'step-rejected')
    const v1 = await payer.waitForVersion(ch.channelId, 1n, 5_000)
    assert.deepEqual(await payee.waitForVersion(ch.channelId, 1n, 5_000), v1)
    await Promise.all([payer.close(), payee.close()])
  })

  it('a store error under the mover’s own commit is an error of update, reported, and nothing is sent', async () => {
    let failing = false
    const store = faultyStore(createMemoryStore(), {
      failing: () => failing,
      error: () => sqliteError('SQLITE_FULL'),
    })
    const { channelId, payer, payee, events } = await twoEscrowParties({
      stores: [store, createMemoryStore()],
    })
    failing = true
    await assert.rejects(payer.update(channelId, escrowActions.fund(10n, deadline)), isStoreError)
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
    assert.equal(events[0].filter((e) => e.type === 'committed' && e.state.version === 1n).length, 0)
    assert.ok(events[0].some((e) => e.type === 'store-error' && e.message.includes('SQLITE_FULL')))
  })
})
