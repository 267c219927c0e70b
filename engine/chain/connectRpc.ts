import { createPublicClient, defineChain, http, type Chain, type HttpTransport } from 'viem'
import { ChanvmError } from '../errors.ts'

/**
 * A viem transport and chain for any JSON-RPC endpoint. The chain id is asked of the endpoint
 * unless given; an endpoint that does not answer is a `CHAIN_ERROR` naming the URL.
 *
 * @example
 * ```ts
 * const { chain, transport } = await connectRpc('http://127.0.0.1:8545')
 * const client = createPublicClient({ chain, transport })
 * ```
 */
export async function connectRpc(
  rpcUrl: string,
  opts: { chainId?: number; retryCount?: number } = {},
): Promise<{ chain: Chain; transport: HttpTransport }> {
  const transport = http(rpcUrl, { retryCount: opts.retryCount ?? 3, timeout: 10_000 })
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
