import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { secp256k1Backend } from '../../engine/crypto/secp256k1Backend.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { fixedEnv } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

// The signature work of one co-signed step between two parties, counted at the secp256k1 backend:
// the mover signs its Proposal and, last, the state; the peer signs the state. The peer recovers
// the Proposal's signer and the mover's state signature; the mover recovers the peer's. A party's
// own signature in the commit is the bytes it handed out, and is not recovered again.

describe('signature work per co-signed step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-budget-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('3 signatures and 3 recoveries a step, both parties together (SQLite stores)', async () => {
    const stores = [0, 1].map((i) => createSqliteStore({ path: join(dir, `p${i}.db`) }))
    // A party that holds its signature without the commit for its response time asks again,
    // signing what it shows (createSyncRequests). That is not a step's work: on a loaded machine a
    // commit can take the tests' 2 s, so here the time is a minute.
    const { channelId, payer, payee, hub, events } = await twoEscrowParties({
      stores: [stores[0]!, stores[1]!],
      partyOptions: { responseTimeoutMs: 60_000 },
    })
    const backend = secp256k1Backend as {
      sign: typeof secp256k1Backend.sign
      recover: typeof secp256k1Backend.recover
    }
    const { sign, recover } = backend
    let signs = 0
    let recoveries = 0
    backend.sign = (...a) => (signs++, sign(...a))
    backend.recover = (...a) => (recoveries++, recover(...a))
    const steps = 6
    try {
      for (let i = 0; i < steps; i++) {
        const action =
          i % 2 === 0 ? escrowActions.fund(1n, fixedEnv.timestamp + 3_600n) : escrowActions.release()
        const r = await payer.update(channelId, action)
        assert.ok(r.ok, r.ok ? '' : r.reason)
      }
      await payee.waitForVersion(channelId, BigInt(steps), 5_000)
      await hub.settled()
    } finally {
      backend.sign = sign
      backend.recover = recover
    }
    assert.deepEqual(
      events.flat().filter((e) => e.type === 'sync'),
      [],
      'no party asked for a commit again',
    )
    assert.equal(signs, 3 * steps)
    assert.equal(recoveries, 3 * steps)
    await payer.close()
    await payee.close()
  })
})
