import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createNonceManager, jsonRpc } from 'viem/nonce'
import type { AdjudicatorClient } from '../../engine/adjudicator/createAdjudicatorClient.ts'

/**
 * An {@link AdjudicatorClient} with a nonce manager of its own.
 *
 * Adapter: `createAdjudicatorClient` uses viem's process-wide `nonceManager`, which caches nonces
 * per (address, chain id). Two demos in one process on two fresh anvils (same keys, same chain id
 * 31337) then reuse the first chain's nonces on the second, and its transactions never mine. A
 * manager per client starts from the chain's own count.
 *
 * @example
 * ```ts
 * const client = createDemoChainClient({ rpcUrl, chainId: 31337, address: adjudicator, privateKey })
 * await deposit(client, { channelId, participant, amount })
 * ```
 */
export function createDemoChainClient(opts: { rpcUrl: string; chainId: number; address: Address; privateKey: Hex }): AdjudicatorClient {
  const loopback = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(opts.rpcUrl)
  const transport = http(opts.rpcUrl, { retryCount: 3, timeout: 10_000 })
  const chain = defineChain({
    id: opts.chainId,
    name: `chain ${opts.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  })
  const pollingInterval = loopback ? 100 : 4_000
  const account = privateKeyToAccount(opts.privateKey, { nonceManager: createNonceManager({ source: jsonRpc() }) })
  return {
    address: opts.address,
    chain,
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    walletClient: createWalletClient({ chain, transport, account, pollingInterval }),
    account: account.address,
  }
}
