import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import type { ForcedChain } from '../../engine/channel/types.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { fixedEnv, testAddresses } from '../support/channel.ts'
import { heldSyncs } from '../support/heldSyncs.ts'
import { interceptArrivals } from '../support/interceptArrivals.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// A local action (update, confirmFunding, adoptForcedChain) hands its result over in a `resolve`
// effect, which waits, like every resolution, until the co-signed states written before it are
// durable. Its caller must then get the result once they are, and an error, not silence, when
// their sync fails.

describe('protocol: a local action behind a commit that is not durable yet', function () {
  this.timeout(30_000)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-local-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** Payer (memory store) and payee (SQLite file): the payee's syncs are held from the moment the commit of version 1 arrives. */
  const start = async (name: string) => {
    const syncs = heldSyncs()
    const hub = createMemoryHub()
    let commitSeen = false
    interceptArrivals(hub, testAddresses[1]!, (m, handle) => {
      if (m.type === 'commit' && m.version === '1') {
        syncs.hold()
        commitSeen = true
      }
      return handle()
    })
    const parties = await twoEscrowParties({
      hub,
      stores: [
        createMemoryStore(),
        createSqliteStore({ path: join(dir, `${name}.db`), syncFile: syncs.syncFile }),
      ],
      partyOptions: { responseTimeoutMs: 20_000 },
    })
    assert.ok((await parties.payer.update(parties.channelId, escrowActions.fund(10n, deadline))).ok)
    while (!commitSeen || syncs.waiting() === 0) await sleep(5)
    // A chain over version 0, below the co-signed version 1 the payee wrote: refused, nothing written.
    const older: ForcedChain = { channelId: parties.channelId, base: parties.initial, moves: [] }
    return { ...parties, syncs, older }
  }
  const settled = (p: Promise<unknown>) => {
    const s = { done: false }
    p.then(
      () => (s.done = true),
      () => (s.done = true),
    )
    return s
  }

  it('the result comes once the commit before it is durable', async () => {
    const { payer, payee, syncs, older } = await start('released')
    const adoption = payee.adoptForcedChain(older)
    const state = settled(adoption)
    await sleep(100)
    assert.equal(state.done, false, 'a refusal naming version 1 waits until version 1 is durable')
    syncs.release()
    const r = await adoption
    assert.equal(r.ok ? 'adopted' : r.reason, 'older-base')
    await payer.close()
    await payee.close()
  })

  it('an update the app refuses at once returns its result (step-rejected) once the commit before it is durable', async () => {
    const { channelId, payer, payee, syncs } = await start('update')
    // The payee cannot fund the escrow: the app rejects the step, no proposal goes out.
    const update = payee.update(channelId, escrowActions.fund(10n, deadline))
    const state = settled(update)
    await sleep(100)
    assert.equal(state.done, false, 'the result waits until version 1 is durable')
    syncs.release()
    const r = await update
    assert.equal(r.ok ? 'ok' : r.reason, 'step-rejected')
    await payer.close()
    await payee.close()
  })

  it('a failed sync of the commit before it fails the local action with the store error; it does not wait for ever', async () => {
    const { payer, payee, syncs, older } = await start('failed')
    const adoption = payee.adoptForcedChain(older)
    await sleep(50)
    syncs.fail(Object.assign(new Error('disk I/O error'), { code: 'EIO' }))
    const outcome = await Promise.race([
      adoption.then(
        (r) => `result ${JSON.stringify(r.ok)}`,
        (e: Error & { code?: string }) => e.code,
      ),
      sleep(3_000).then(() => 'still waiting'),
    ])
    assert.equal(outcome, 'STORE_ERROR')
    await payer.close()
    await payee.close().catch(() => undefined)
  })
})
