import { createPublicClient, createWalletClient, type Address } from 'viem'
import { createNonceManager, jsonRpc } from 'viem/nonce'
import type { AdjudicatorClient } from '../engine/adjudicator/createAdjudicatorClient.ts'
import { connectRpc } from '../engine/chain/connectRpc.ts'
import type { Signer } from '../engine/crypto/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import { signerToAccount } from './signerToAccount.ts'

/** Options of {@link createSignerAdjudicatorClient}. */
export type SignerAdjudicatorClientOptions = {
  rpcUrl: string
  /** The deployed Adjudicator. */
  address: Address
  /** Signs this node's transactions (through {@link signerToAccount}). */
  signer: Signer
  /** Checked against the endpoint's when given; fetched from it otherwise. */
  chainId?: number
  /** How often to poll for receipts. Default 100 ms for loopback URLs, else 4,000. */
  pollingIntervalMs?: number
  receiptTimeoutMs?: number
}

/**
 * An Adjudicator client whose transactions a {@link Signer} signs: what `createAdjudicatorClient`
 * builds from a private key, built from the signer port instead, with a nonce manager of its own.
 * Every action in `engine/adjudicator` and the watcher take it.
 *
 * @example
 * ```ts
 * const client = await createSignerAdjudicatorClient({ rpcUrl, address: adjudicator, signer })
 * await deposit(client, { channelId, participant: signer.address, amount })
 * ```
 */
export async function createSignerAdjudicatorClient(
  opts: SignerAdjudicatorClientOptions,
): Promise<AdjudicatorClient> {
  const loopback = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(opts.rpcUrl)
  const { chain, transport } = await connectRpc(opts.rpcUrl, {
    ...(opts.chainId === undefined ? {} : { chainId: opts.chainId }),
    retryCount: 3,
  })
  const pollingInterval = opts.pollingIntervalMs ?? (loopback ? 100 : 4_000)
  const publicClient = createPublicClient({ chain, transport, pollingInterval })
  if (opts.chainId !== undefined) {
    let actual: number
    try {
      actual = await publicClient.getChainId()
    } catch (cause) {
      throw new ChanvmError('CHAIN_ERROR', `cannot reach the JSON-RPC endpoint ${opts.rpcUrl}`, { cause })
    }
    if (actual !== opts.chainId)
      throw new ChanvmError(
        'CONFIG',
        `${opts.rpcUrl} serves chain ${actual}, the configuration names ${opts.chainId}`,
      )
  }
  const account = signerToAccount(opts.signer, {
    nonceManager: createNonceManager({ source: jsonRpc() }),
  })
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval })
  return {
    address: opts.address,
    chain,
    publicClient,
    walletClient,
    account: account.address,
    receiptTimeoutMs: opts.receiptTimeoutMs ?? 120_000,
  }
}
