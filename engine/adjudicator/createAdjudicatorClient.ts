import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  nonceManager,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { ChanvmError } from '../errors.ts'

/** Options of {@link createAdjudicatorClient}. */
export type CreateAdjudicatorClientOptions = {
  /** Any Ethereum JSON-RPC endpoint (http or https). */
  rpcUrl: string
  /** The deployed Adjudicator. */
  address: Address
  /** Key that signs and pays for transactions. Without it the client can only read. */
  privateKey?: Hex
  /** The chain id; fetched from the endpoint when omitted. */
  chainId?: number
  /** How often to poll for receipts, in milliseconds. Default 100 for loopback URLs, else 4,000. */
  pollingIntervalMs?: number
  /** Retries of a failed JSON-RPC request (viem's exponential back-off). Default 3. */
  retryCount?: number
}

/** A connection to one Adjudicator: a public client for reads and, with a key, a wallet client. */
export type AdjudicatorClient = {
  readonly address: Address
  readonly chain: Chain
  readonly publicClient: PublicClient<Transport, Chain>
  readonly walletClient: WalletClient<Transport, Chain, Account> | undefined
  /** The address that sends transactions, when the client has a key. */
  readonly account: Address | undefined
}

/**
 * Connects to an Adjudicator over JSON-RPC with viem. Every action in `engine/adjudicator` takes
 * the returned client as its first argument, so the same code runs against anvil or any endpoint.
 * Transactions use a nonce manager, so concurrent sends from one key do not collide.
 *
 * @example
 * ```ts
 * const client = await createAdjudicatorClient({ rpcUrl: anvil.rpcUrl, address: adjudicator, privateKey })
 * await deposit(client, { channelId, participant: alice, amount: 10n ** 18n })
 * ```
 */
export async function createAdjudicatorClient(opts: CreateAdjudicatorClientOptions): Promise<AdjudicatorClient> {
  const loopback = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(opts.rpcUrl)
  const transport = http(opts.rpcUrl, { retryCount: opts.retryCount ?? 3, timeout: 10_000 })
  let chainId = opts.chainId
  if (chainId === undefined) {
    try {
      chainId = await createPublicClient({ transport }).getChainId()
    } catch (cause) {
      throw new ChanvmError('CHAIN_ERROR', `cannot reach the JSON-RPC endpoint ${opts.rpcUrl}`, { cause })
    }
  }
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  })
  const pollingInterval = opts.pollingIntervalMs ?? (loopback ? 100 : 4_000)
  const publicClient = createPublicClient({ chain, transport, pollingInterval })
  if (opts.privateKey === undefined) {
    return { address: opts.address, chain, publicClient, walletClient: undefined, account: undefined }
  }
  const account = privateKeyToAccount(opts.privateKey, { nonceManager })
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval })
  return { address: opts.address, chain, publicClient, walletClient, account: account.address }
}
