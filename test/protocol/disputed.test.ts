import assert from 'node:assert/strict'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import type { Signer } from '../../engine/crypto/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n
const disputedFor = (channelId: string) => (e: unknown) =>
  e instanceof ChanvmError && e.code === 'DISPUTED' && e.channelId?.toLowerCase() === channelId.toLowerCase()

/**
 * A signer for `privateKey` that can hold one signature: `hold(n)` makes the n-th signature from
 * then wait, `waiting()` resolves once one waits, `letGo()` lets it through.
 */
function holdingSigner(privateKey: `0x${string}`) {
  const key = createKeySigner(privateKey)
  let holdAt = 0
  let release: (() => void) | undefined
  return {
    signer: {
      address: key.address,
      signDigest: async (digest: `0x${string}`) => {
        if (holdAt > 0 && --holdAt === 0) await new Promise<void>((res) => (release = res))
        return key.signDigest(digest)
      },
    },
    hold: (n: number) => void (holdAt = n),
    waiting: async () => {
      while (release === undefined) await new Promise((r) => setTimeout(r, 5))
    },
    letGo: () => release?.(),
  }
}

/**
 * Payer and payee of an escrow channel on `hub`, each on a memory store of its own (kept, so a
 * party can start again on it with `make`), `signers[i]` signing for party i, opened and funded.
 */
async function fundedOnHub(
  hub: ReturnType<typeof createMemoryHub>,
  signers: readonly [Signer, Signer],
  responseTimeoutMs: number,
  stores: readonly [ChannelStore, ChannelStore] = [createMemoryStore(), createMemoryStore()],
) {
  const ch = escrowChannel()
  const make = async (i: 0 | 1) =>
    createParty({
      signer: signers[i],
      transport: hub.connect(testAddresses[i]!),
      store: stores[i],
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock: () => fixedEnv,
      responseTimeoutMs,
    })
  const payer = await make(0)
  const payee = await make(1)
  await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
  for (const p of [payer, payee]) assert.ok((await p.confirmFunding(ch.channelId, ch.initial.balances)).ok)
  return { ch, stores, make, payer, payee }
}

/** The versions of the commits `hub` carries to `to`, as they go (every message still goes). */
function commitsTo(hub: ReturnType<typeof createMemoryHub>, to: string): string[] {
  const versions: string[] = []
  hub.setFilter((dest, m) => {
    if (dest === to && m.type === 'commit') versions.push(m.version)
    return false
  })
  return versions
}

describe('protocol: a channel in dispute', function () {
  this.timeout(20_000)

  it('once told of a dispute a party neither proposes (DISPUTED) nor signs (refused: disputed)', async () => {
    const { channelId, payer, payee, events } = await twoEscrowParties()
    assert.ok((await payer.update(channelId, escrowActions.fund(300n, deadline))).ok)
    await payee.waitForVersion(channelId, 1n)

    await payee.markDisputed(channelId)
    assert.equal(payee.phase(channelId), 'disputed')
    assert.equal(payer.phase(channelId), 'open', 'only the party told of it')
    assert.ok(events[1].some((e) => e.type === 'disputed' && e.channelId === channelId))

    const r = await payer.update(channelId, escrowActions.release())
    assert.equal(r.ok ? 'ok' : r.reason, 'peer-rejected')
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'disputed')
    assert.equal(payee.stats()['disputed'], 1)
    await assert.rejects(payee.update(channelId, escrowActions.release()), disputedFor(channelId))
    assert.equal(
      events[1].filter((e) => e.type === 'signed' && e.version === 2n).length,
      0,
      'the payee signed nothing at version 2',
    )
    assert.equal((await payer.latest(channelId))?.state.version, 1n)
    assert.equal((await payee.latest(channelId))?.state.version, 1n)
  })

  it('an update in flight when the dispute is seen ends with DISPUTED; the mover never signs last, not even on a later sync', async () => {
    let approve!: () => void
    const approved = new Promise<boolean>((res) => (approve = () => res(true)))
    let holdApproval = false
    const { channelId, payer, payee, events, hub } = await twoEscrowParties({
      partyOptions: { approve: () => (holdApproval ? approved : true) },
    })
    holdApproval = true
    const inFlight = payer.update(channelId, escrowActions.fund(300n, deadline))
    // The payee is asked for its approval: the proposal is in flight.
    while (payer.phase(channelId) !== 'proposing') await new Promise((r) => setImmediate(r))
    await payer.markDisputed(channelId)
    await assert.rejects(inFlight, disputedFor(channelId))
    assert.equal(payer.phase(channelId), 'disputed')

    // The payee signs now; its accept, and its sync request showing the signature, change nothing.
    approve()
    const asked = () =>
      events[1].some((e) => e.type === 'sync' && e.direction === 'asked' && e.version === 1n)
    while (!asked()) await new Promise((r) => setTimeout(r, 20))
    await hub.settled()
    assert.equal(events[1].filter((e) => e.type === 'signed' && e.version === 1n).length, 1)
    assert.equal(events[0].filter((e) => e.type === 'signed' && e.version === 1n).length, 0)
    assert.equal((await payer.latest(channelId))?.state.version, 0n)
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
  })

  it("a dispute marked while the signer signs a peer's proposal: the signature is recorded, never handed on", async () => {
    // The payee's signer holds its next signature until the test lets it go.
    const held = holdingSigner(testKeys[1]!)
    const hub = createMemoryHub()
    const { ch, stores, payer, payee } = await fundedOnHub(
      hub,
      [createKeySigner(testKeys[0]!), held.signer],
      1_000,
    )
    held.hold(1)
    const inFlight = payer.update(ch.channelId, escrowActions.fund(300n, deadline))
    await held.waiting()
    // The payee passed its dispute check and is signing version 1 when the dispute is marked.
    const marked = payee.markDisputed(ch.channelId)
    held.letGo()
    await marked
    const r = await inFlight
    assert.equal(r.ok, false, "the payer never gets the payee's signature, so it cannot finish version 1")
    assert.equal((await payer.latest(ch.channelId))?.state.version, 0n)
    assert.equal(
      (await stores[1].getSignatureRecord(ch.channelId, 1n))?.version,
      1n,
      "the payee's record of its signature stays",
    )
    await hub.settled()
    assert.equal((await payer.latest(ch.channelId))?.state.version, 0n)
    await payer.close()
    await payee.close()
  })

  it('a signature withheld in a dispute stays withheld: neither the proposal delivered again nor a restart hands it out', async () => {
    // The payee's signer holds its next signature until the test lets it go.
    const held = holdingSigner(testKeys[1]!)
    const hub = createMemoryHub()
    // Every message to the payer that carries the payee's state signature on version 1.
    const leaked: string[] = []
    const proposals: PeerMessage[] = []
    hub.setFilter((to, m) => {
      if (to === testAddresses[1] && m.type === 'propose') proposals.push(m)
      if (to !== testAddresses[0]) return false
      if (m.type === 'accept' && m.version === '1') leaked.push('accept')
      if (m.type === 'sync' && m.signed !== undefined) leaked.push('sync showing its signature')
      if (m.type === 'reject' && m.signed !== undefined) leaked.push('reject showing its signature')
      return false
    })
    const { ch, stores, make, payer, payee } = await fundedOnHub(
      hub,
      [createKeySigner(testKeys[0]!), held.signer],
      300,
    )
    held.hold(1)
    const inFlight = payer.update(ch.channelId, escrowActions.fund(300n, deadline))
    await held.waiting()
    const marked = payee.markDisputed(ch.channelId)
    held.letGo()
    await marked
    assert.equal((await inFlight).ok, false)
    await hub.settled()
    assert.equal((await stores[1].getSignatureRecord(ch.channelId, 1n))?.version, 1n, 'the payee recorded it')
    // The proposal reaches the payee again (redelivered by a broker, or sent again by the payer).
    assert.equal(proposals.length, 1)
    await hub.connect(testAddresses[0]!).send(testAddresses[1]!, proposals[0]!)
    await hub.settled()
    // The payee starts again on its store: it asks for version 1, above its latest.
    await payee.close()
    const again = await make(1)
    await new Promise((r) => setTimeout(r, 700)) // the re-sync timer asks again too
    await hub.settled()
    assert.deepEqual(leaked, [], "the payee's signature on version 1 reached the payer")
    assert.equal((await payer.latest(ch.channelId))?.state.version, 0n, 'the payer cannot finish version 1')
    await payer.close()
    await again.close()
  })

  it('a dispute marked while the mover signs last: the state is not stored co-signed, and a restart sends no commit of it', async () => {
    // The payer's signer holds its second signature of the update (the Proposal's, then the last
    // state signature) until the test lets it go.
    const held = holdingSigner(testKeys[0]!)
    const hub = createMemoryHub()
    const commits = commitsTo(hub, testAddresses[1]!)
    const { ch, stores, make, payer, payee } = await fundedOnHub(
      hub,
      [held.signer, createKeySigner(testKeys[1]!)],
      300,
    )
    await hub.settled()
    held.hold(2)
    const inFlight = payer.update(ch.channelId, escrowActions.fund(300n, deadline))
    await held.waiting()
    const marked = payer.markDisputed(ch.channelId)
    held.letGo()
    await marked
    await assert.rejects(inFlight, disputedFor(ch.channelId))
    await hub.settled()
    assert.equal((await stores[0].getSignatureRecord(ch.channelId, 1n))?.version, 1n, 'the payer recorded it')
    assert.equal(await stores[0].getSignedState(ch.channelId, 1n), undefined, 'not as a co-signed state')
    // The payer starts again on its store: its re-sync sends its latest co-signed state, and the
    // payee, which signed version 1, asks for it.
    commits.length = 0
    await payer.close()
    const again = await make(0)
    await new Promise((r) => setTimeout(r, 700))
    await hub.settled()
    assert.ok(commits.length > 0, 'the restarted payer sent its latest co-signed state')
    assert.deepEqual(
      commits.filter((v) => v !== '0'),
      [],
      "no commit carries the payer's last signature on version 1",
    )
    assert.equal((await payee.latest(ch.channelId))?.state.version, 0n)
    assert.equal((await again.latest(ch.channelId))?.state.version, 0n)
    await again.close()
    await payee.close()
  })

  it('a dispute marked while the mover writes the co-signed state: the step finishes, as the store and a restart have it', async () => {
    // The payer's store writes the co-signed state of version 1, then holds the write's answer
    // (as while its disk sync runs) until the test lets it go.
    const kept = createMemoryStore()
    let holding = false
    let held: (() => void) | undefined
    const payerStore: ChannelStore = {
      ...kept,
      recordSignatureAndState: async (record, signed) => {
        const r = await kept.recordSignatureAndState(record, signed)
        if (holding) await new Promise<void>((res) => (held = res))
        return r
      },
    }
    const hub = createMemoryHub()
    const commits = commitsTo(hub, testAddresses[1]!)
    const { ch, stores, make, payer, payee } = await fundedOnHub(
      hub,
      [createKeySigner(testKeys[0]!), createKeySigner(testKeys[1]!)],
      300,
      [payerStore, createMemoryStore()],
    )
    await hub.settled()
    commits.length = 0
    holding = true
    const inFlight = payer.update(ch.channelId, escrowActions.fund(300n, deadline))
    while (held === undefined) await new Promise((r) => setTimeout(r, 5))
    const marked = payer.markDisputed(ch.channelId)
    held()
    await marked
    // The state was stored co-signed before the mark took effect: the update reports it, the
    // payer's latest is it, the payee gets its commit, and nothing newer is proposed.
    const r = await inFlight
    assert.ok(r.ok, 'the update finished')
    assert.equal(r.signed.state.version, 1n)
    assert.equal((await stores[0].getSignedState(ch.channelId, 1n))?.state.version, 1n)
    assert.equal((await payer.latest(ch.channelId))?.state.version, 1n)
    await hub.settled()
    assert.deepEqual(commits, ['1'])
    assert.equal((await payee.latest(ch.channelId))?.state.version, 1n)
    await assert.rejects(
      payer.update(ch.channelId, escrowActions.fund(1n, deadline)),
      disputedFor(ch.channelId),
    )
    // Started again on its store, the payer is in dispute at the same latest state.
    holding = false
    await payer.close()
    const again = await make(0)
    assert.equal((await again.latest(ch.channelId))?.state.version, 1n)
    assert.equal(again.phase(ch.channelId), 'disputed')
    await again.close()
    await payee.close()
  })

  it('a party in dispute still answers a sync for a state it co-signed before', async () => {
    const { channelId, payer, payee, hub } = await twoEscrowParties()
    // The payee signs version 1 but never gets its commit.
    hub.setFilter((to, m) => to === testAddresses[1] && m.type === 'commit')
    assert.ok((await payer.update(channelId, escrowActions.fund(300n, deadline))).ok)
    await hub.settled()
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
    await payer.markDisputed(channelId)
    await payee.markDisputed(channelId)
    hub.setFilter(undefined)
    // The payee asks again (re-sync); the payer answers with the co-signed version 1.
    const got = await payee.waitForVersion(channelId, 1n, 15_000)
    assert.deepEqual(got, await payer.latest(channelId))
  })

  it('the dispute is kept in the store: a party started again on it stays in dispute', async () => {
    const store = createMemoryStore()
    const { channelId, payee } = await twoEscrowParties({ stores: [createMemoryStore(), store] })
    await payee.markDisputed(channelId)
    await payee.markDisputed(channelId) // idempotent
    await payee.close()
    const again = await createParty({
      signer: createKeySigner(testKeys[1]!),
      transport: createMemoryHub().connect(testAddresses[1]!),
      store,
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock: () => fixedEnv,
    })
    assert.equal(again.phase(channelId), 'disputed')
    await assert.rejects(again.update(channelId, escrowActions.release()), disputedFor(channelId))
    await again.close()
  })
})
