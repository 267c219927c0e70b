// The in-process bench with the two parties on two threads: the payee on a worker thread, the
// messages crossing the port as JSON. What the run leaves in the two SQLite files is the proof that
// it co-signed: both hold every channel at the same version, signed by both keys.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoopChannelsTwoThreads } from '../../bench/twoThreads.ts'
import { loopChannel } from '../../bench/loopChannel.ts'
import { hashState } from '../../engine/channel/hashState.ts'
import { recoverDigestSigner } from '../../engine/crypto/recoverDigestSigner.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { testAddresses } from '../support/channel.ts'

describe('bench: the parties on two threads', function () {
  this.timeout(120_000)
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-two-threads-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('co-signs every step of every channel: both stores end at the same state, signed by both keys', async () => {
    const r = await runLoopChannelsTwoThreads({ dir, channels: 3, steps: 12, warmup: 2 })
    assert.ok(r.stepsPerSec > 0 && r.cpuMsPerStep > 0, JSON.stringify(r))
    assert.ok(r.writesPerSync >= 1, `writes per sync ${r.writesPerSync}`)
    for (const share of [r.busy.payer, r.busy.payee]) assert.ok(share > 0 && share <= 1, `busy ${share}`)
    const stores = [0, 1].map((i) => createSqliteStore({ path: join(dir, `p${i}.db`) }))
    try {
      for (const nonce of [2_000n, 2_001n, 2_002n]) {
        const { ch } = await loopChannel(nonce)
        const [mine, theirs] = await Promise.all(stores.map((s) => s.getLatestSignedState(ch.channelId)))
        assert.ok(mine !== undefined && theirs !== undefined, 'both hold the channel')
        // 2 warm-up steps and 12 / 3 = 4 measured steps.
        assert.equal(mine.state.version, 6n)
        assert.deepEqual(theirs, mine)
        const digest = hashState(ch.params.chainId, ch.params.adjudicator, mine.state)
        assert.deepEqual(
          mine.signatures.map((sig) => recoverDigestSigner(digest, sig)),
          testAddresses.slice(0, 2).map((a) => ({ ok: true, signer: a.toLowerCase() })),
        )
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()))
    }
  })
})
