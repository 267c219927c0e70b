import assert from 'node:assert/strict'
import { createPublicClient, http } from 'viem'
import { startAnvil } from '../../engine/chain/startAnvil.ts'

describe('startAnvil', () => {
  it('starts a chain on a free loopback port, answers JSON-RPC, and stops without leaving the process behind', async () => {
    const a = await startAnvil()
    const b = await startAnvil()
    try {
      assert.notEqual(a.rpcUrl, b.rpcUrl)
      assert.match(a.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.equal(a.chainId, 31337)
      assert.equal(a.accounts.length, 10)
      const client = createPublicClient({ transport: http(a.rpcUrl) })
      assert.equal(await client.getChainId(), 31337)
      assert.equal(await client.getBalance({ address: a.accounts[0]!.address }), 10_000n * 10n ** 18n)
    } finally {
      await a.stop()
      await b.stop()
    }
    assert.throws(() => process.kill(a.pid, 0), /ESRCH/)
    assert.throws(() => process.kill(b.pid, 0), /ESRCH/)
    await a.stop() // idempotent
  })
})
