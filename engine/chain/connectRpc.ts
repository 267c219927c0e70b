import { createPublicClient, defineChain, http, type Chain, type HttpTransport } from 'viem'
import { ChanvmError } from '../errors.ts'

/**
 * A viem transport and chain for any JSON-RPC endpoint. The chain id is asked of the endpoint
 * unless given; an endpoint that does not answer is a `CHAIN_ERROR` naming the URL. Every request
 * is bounded: `timeoutMs` per attempt (default 10,000), `retryCount` more attempts (default 3), so
 * a hung endpoint fails a call after about `timeoutMs × (retryCount + 1)` instead of hanging.
 *
 * @example
 * ```ts
 * const { chain, transport } = await connectRpc('http://127.0.0.1:8545')
 * const client = createPublicClient({ chain, transport })
 * ```
 */
export async function connectRpc(
  rpcUrl: string,
  opts: { chainId?: number; retryCount?: number; timeoutMs?: number } = {},
): Promise<{ chain: Chain; transport: HttpTransport }> {
  const transport = http(rpcUrl, { retryCount: opts.retryCount ?? 3, timeout: opts.timeoutMs ?? 10_000 })
  let chainId = opts.chainId
  if (chainId === undefined) {
    try {
      chainId = await createPublicClient({ transport }).getChainId()
    } catch (cause) {
      throw new ChanvmError('CHAIN_ERROR', `cannot reach the JSON-RPC endpoint ${rpcUrl}`, { cause })
    }
  }
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  return { chain, transport }
}
