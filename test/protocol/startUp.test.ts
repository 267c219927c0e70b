import assert from 'node:assert/strict'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'
import { fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

// A party starting on a store re-syncs every channel it holds (docs/protocol.md, "Re-sync") on
// the channel's queue. The start must not wait for what a message delivered meanwhile waits for,
// and a start that fails must leave no party behind that still answers.

const deadline = fixedEnv.timestamp + 3_600n

describe('protocol: a party starting on its store', function () {
  this.timeout(20_000)

  it('starts while a proposal delivered at once waits for an approve that never answers, and its re-sync goes out', async () => {
    const stores = [createMemoryStore(), createMemoryStore()] as const
    const { hub, channelId, payer, payee } = await twoEscrowParties({
      stores: [stores[0], stores[1]],
      partyOptions: { responseTimeoutMs: 500 },
    })
    // The payee never gets the proposal: it is held, to be delivered to the payee started again.
    let held: PeerMessage | undefined
    hub.setFilter((to, m) => {
      if (to === testAddresses[1] && m.type === 'propose') held = m
      return to === testAddresses[1] && m.type === 'propose'
    })
    const r = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.equal(r.ok, false)
    assert.ok(held !== undefined)
    await payee.close()
    const commits: string[] = []
    hub.setFilter((to, m) => {
      if (to === testAddresses[0] && m.type === 'commit') commits.push(m.version)
      return false
    })
    // A persistent session hands its backlog over as soon as the party listens.
    const inner = hub.connect(testAddresses[1]!)
    const transport: PeerTransport = {
      self: inner.self,
      send: (to, m) => inner.send(to, m),
      close: () => inner.close(),
      onMessage(handler) {
        const stop = inner.onMessage(handler)
        void handler(held!)
        return stop
      },
    }
    let asked = false
    const started = createParty({
      signer: createKeySigner(testKeys[1]!),
      transport,
      store: stores[1],
      sandbox: await createSandbox(),
      apps: [escrowApp],
      clock: () => fixedEnv,
      responseTimeoutMs: 500,
      approve: () => {
        asked = true
        return new Promise<boolean>(() => undefined) // nobody answers
      },
    })
    const outcome = await Promise.race([
      started.then(() => 'started'),
      new Promise((res) => setTimeout(() => res('still starting'), 3_000)),
    ])
    assert.equal(outcome, 'started')
    await hub.settled()
    assert.deepEqual(commits, ['0'], 'the re-sync sent the latest co-signed state')
    while (!asked) await new Promise((res) => setTimeout(res, 10))
    await payer.close()
    await (await started).close()
  })

  it('a re-sync that fails rejects the start, and the party that failed answers nothing', async () => {
    const stores = [createMemoryStore(), createMemoryStore()] as const
    const { hub, channelId, payer, payee } = await twoEscrowParties({
      stores: [stores[0], stores[1]],
      partyOptions: { responseTimeoutMs: 500 },
    })
    await payee.close()
    // The payee's store fails its first read of a signature record (the re-sync's), once.
    let fail = true
    const failing: ChannelStore = Object.create(stores[1]) as ChannelStore
    failing.getSignatureRecord = async (id, version) => {
      if (fail) {
        fail = false
        throw new Error('EIO')
      }
      return stores[1].getSignatureRecord(id, version)
    }
    await assert.rejects(
      createParty({
        signer: createKeySigner(testKeys[1]!),
        transport: hub.connect(testAddresses[1]!),
        store: failing,
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 500,
      }),
      /EIO|store/,
    )
    const r = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.equal(r.ok, false, 'the party that failed to start co-signed a step')
    await hub.settled()
    assert.equal(await stores[1].getSignatureRecord(channelId, 1n), undefined)
    assert.equal((await stores[1].getLatestSignedState(channelId))?.state.version, 0n)
    await payer.close()
  })
})
