import assert from 'node:assert/strict'
import { createPublicClient, createTestClient, createWalletClient, http, type Hash } from 'viem'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { waitForMinedReceipt } from '../../engine/chain/waitForMinedReceipt.ts'
import { ChanvmError } from '../../engine/errors.ts'

describe('waitForMinedReceipt: a receipt on a test chain, with one block mined for a transaction left pending', () => {
  let anvil: Anvil
  let clients: {
    publicClient: ReturnType<typeof createPublicClient>
    testClient: ReturnType<typeof createTestClient>
    wallet: ReturnType<typeof createWalletClient>
  }
  before(async () => {
    anvil = await startAnvil()
    const transport = http(anvil.rpcUrl)
    clients = {
      publicClient: createPublicClient({ transport, pollingInterval: 20 }),
      testClient: createTestClient({ mode: 'anvil', transport }),
      wallet: createWalletClient({ transport }),
    }
  })
  after(() => anvil.stop())

  const send = (): Promise<Hash> =>
    clients.wallet.sendTransaction({
      chain: null,
      account: anvil.accounts[0]!.address,
      to: anvil.accounts[1]!.address,
      value: 1n,
    })

  it('returns a mined transaction’s receipt and mines nothing more', async () => {
    const hash = await send()
    const receipt = await waitForMinedReceipt({ ...clients, hash, patienceMs: 5_000 })
    assert.equal(receipt.status, 'success')
    assert.equal(await clients.publicClient.getBlockNumber({ cacheTime: 0 }), receipt.blockNumber)
  })

  it('mines one block for a transaction still pending after its patience, and returns its receipt', async () => {
    await clients.testClient.setAutomine(false)
    try {
      const before = await clients.publicClient.getBlockNumber({ cacheTime: 0 })
      const hash = await send()
      const tx = await clients.publicClient.getTransaction({ hash })
      assert.equal(tx.blockNumber, null, 'the transaction waits in the pool')
      const receipt = await waitForMinedReceipt({ ...clients, hash, patienceMs: 300 })
      assert.equal(receipt.status, 'success')
      assert.equal(receipt.blockNumber, before + 1n)
    } finally {
      await clients.testClient.setAutomine(true)
    }
  })

  it('a transaction the chain does not know is a CHAIN_ERROR naming it, and mines nothing', async () => {
    const before = await clients.publicClient.getBlockNumber({ cacheTime: 0 })
    const hash = `0x${'ab'.repeat(32)}` as Hash
    await assert.rejects(
      waitForMinedReceipt({ ...clients, hash, patienceMs: 200 }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'CHAIN_ERROR' && e.message.includes(hash),
    )
    assert.equal(await clients.publicClient.getBlockNumber({ cacheTime: 0 }), before)
  })
})
