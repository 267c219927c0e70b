import {
  createPublicClient,
  createWalletClient,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createNonceManager, jsonRpc, type NonceManager } from 'viem/nonce'
import { connectRpc } from '../chain/connectRpc.ts'

/** Options of {@link createAdjudicatorClient}. */
export type CreateAdjudicatorClientOptions = {
  /** Any Ethereum JSON-RPC endpoint (http or https). */
  rpcUrl: string
  /** The deployed Adjudicator. */
  address: Address
  /** Key that signs and pays for transactions. Without it (or `account`) the client can only read. */
  privateKey?: Hex
  /**
   * Instead of `privateKey`: builds the account that signs (e.g. one over a `Signer`, so the key
   * stays inside it), given the client's own nonce manager.
   */
  account?: (nonceManager: NonceManager) => LocalAccount
  /** The chain id; fetched from the endpoint when omitted. */
  chainId?: number
  /** How often to poll for receipts, in milliseconds. Default 100 for loopback URLs, else 4,000. */
  pollingIntervalMs?: number
  /** Retries of a failed JSON-RPC request (viem's exponential back-off). Default 3. */
  retryCount?: number
  /** How long one JSON-RPC request may take before it fails (then is retried), in milliseconds. Default 10,000. */
  timeoutMs?: number
  /** How long to wait for a transaction's receipt, in milliseconds. Default 120,000. */
  receiptTimeoutMs?: number
}

/** A connection to one Adjudicator: a public client for reads and, with a key, a wallet client. */
export type AdjudicatorClient = {
  readonly address: Address
  readonly chain: Chain
  readonly publicClient: PublicClient<Transport, Chain>
  readonly walletClient: WalletClient<Transport, Chain, Account> | undefined
  /** The address that sends transactions, when the client has a key. */
  readonly account: Address | undefined
  /** How long write actions wait for a receipt, in milliseconds. Default 120,000. */
  readonly receiptTimeoutMs?: number
}

/**
 * Connects to an Adjudicator over JSON-RPC with viem. Every action in `engine/adjudicator` takes
 * the returned client as its first argument, so the same code runs against anvil or any endpoint.
 * Each client has its own nonce manager, so concurrent sends through one client do not collide;
 * use one client per key (two clients sending from the same key can race for a nonce).
 *
 * @example
 * ```ts
 * const client = await createAdjudicatorClient({ rpcUrl: anvil.rpcUrl, address: adjudicator, privateKey })
 * await deposit(client, { channelId, participant: alice, amount: 10n ** 18n })
 * ```
 */
export async function createAdjudicatorClient(
  opts: CreateAdjudicatorClientOptions,
): Promise<AdjudicatorClient> {
  const loopback = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(opts.rpcUrl)
  const { chain, transport } = await connectRpc(opts.rpcUrl, {
    ...(opts.chainId === undefined ? {} : { chainId: opts.chainId }),
    retryCount: opts.retryCount ?? 3,
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  })
  const pollingInterval = opts.pollingIntervalMs ?? (loopback ? 100 : 4_000)
  const publicClient = createPublicClient({ chain, transport, pollingInterval })
  const receiptTimeoutMs = opts.receiptTimeoutMs ?? 120_000
  const { privateKey, account: makeAccount } = opts
  if (privateKey === undefined && makeAccount === undefined) {
    return {
      address: opts.address,
      chain,
      publicClient,
      walletClient: undefined,
      account: undefined,
      receiptTimeoutMs,
    }
  }
  // A nonce manager of its own: viem's shared one is keyed by (address, chain id) only, so it
  // would carry nonces over between two chains with the same id (two anvils, a restarted node).
  const nonceManager = createNonceManager({ source: jsonRpc() })
  const account =
    makeAccount !== undefined
      ? makeAccount(nonceManager)
      : privateKeyToAccount(privateKey as Hex, { nonceManager })
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval })
  return {
    address: opts.address,
    chain,
    publicClient,
    walletClient,
    account: account.address,
    receiptTimeoutMs,
  }
}
