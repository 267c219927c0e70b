import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

// A store's channels name this party by its index in each channel's participants. Started with
// another key, the party would sign as someone the channel does not name: every accept refused,
// and its own signature in a commit never checked (it compares the bytes it handed out).

describe('a party started on a store of channels that name another signer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-signer-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses to start (NOT_PARTICIPANT); with the key the channels name it starts', async () => {
    const path = join(dir, 'payer.db')
    const { channelId, payer, payee } = await twoEscrowParties({
      stores: [createSqliteStore({ path }), createSqliteStore({ path: join(dir, 'payee.db') })],
    })
    await payer.close()
    await payee.close()
    const start = async (i: 0 | 1) =>
      createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: createMemoryHub().connect(testAddresses[i]!),
        store: createSqliteStore({ path }),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
      })
    await assert.rejects(start(1), (e: unknown) => {
      assert.ok(e instanceof ChanvmError)
      assert.equal(e.code, 'NOT_PARTICIPANT')
      assert.equal(e.channelId, channelId)
      return true
    })
    const again = await start(0)
    assert.equal((await again.latest(channelId))?.state.version, 0n)
    await again.close()
  })
})
