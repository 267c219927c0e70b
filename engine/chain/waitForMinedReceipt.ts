import {
  WaitForTransactionReceiptTimeoutError,
  type Hash,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
} from 'viem'
import { ChanvmError } from '../errors.ts'

/**
 * The receipt of `hash` on a local test chain (anvil with automine). Anvil's automine can leave a
 * ready transaction in its pool until the next block is mined (foundry-rs/foundry#10122); when no
 * receipt comes within `patienceMs` (default 20 s) and the transaction is still pending, this mines
 * one block, which includes it with whatever timestamp was set for that block, and waits again.
 * A transaction the chain does not know, or one still missing after the extra block, is a
 * `CHAIN_ERROR` naming the hash. Only for chains this process owns: mining is a test-chain method.
 *
 * @example
 * ```ts
 * const hash = await wallet.writeContract({ ... })
 * const receipt = await waitForMinedReceipt({ publicClient, testClient, hash })
 * ```
 */
export async function waitForMinedReceipt(opts: {
  publicClient: Pick<PublicClient, 'waitForTransactionReceipt' | 'getTransaction'>
  testClient: Pick<TestClient, 'mine'>
  hash: Hash
  patienceMs?: number
  pollingInterval?: number
}): Promise<TransactionReceipt> {
  const { publicClient, testClient, hash } = opts
  const patienceMs = opts.patienceMs ?? 20_000
  const wait = () =>
    publicClient.waitForTransactionReceipt({
      hash,
      timeout: patienceMs,
      pollingInterval: opts.pollingInterval ?? 20,
    })
  try {
    return await wait()
  } catch (e) {
    if (!(e instanceof WaitForTransactionReceiptTimeoutError)) throw e
  }
  const tx = await publicClient.getTransaction({ hash }).catch(() => undefined)
  if (tx === undefined)
    throw new ChanvmError(
      'CHAIN_ERROR',
      `transaction ${hash}: no receipt after ${patienceMs} ms, and the chain does not know it`,
    )
  if (tx.blockNumber === null) await testClient.mine({ blocks: 1 })
  try {
    return await wait()
  } catch (e) {
    if (!(e instanceof WaitForTransactionReceiptTimeoutError)) throw e
    throw new ChanvmError(
      'CHAIN_ERROR',
      `transaction ${hash}: still no receipt ${patienceMs} ms after mining a block for it`,
      { cause: e },
    )
  }
}
