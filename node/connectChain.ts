// A node's chain client and its read-only start-up checks: the endpoint answers, serves the
// configured chain, and holds the Adjudicator and the apps' contracts the configuration names.
import {
  createAdjudicatorClient,
  type AdjudicatorClient,
} from '../engine/adjudicator/createAdjudicatorClient.ts'
import { ChanvmError } from '../engine/errors.ts'
import { checkDeployment } from './checkDeployment.ts'
import { signerToAccount } from './signerToAccount.ts'
import type { NodeContext } from './nodeContext.ts'

/** What {@link connectChain} needs: `rpcUrl` is the endpoint without credentials, for messages. */
export type ConnectChainContext = Pick<
  NodeContext,
  'config' | 'signer' | 'chainId' | 'chainTimeoutMs' | 'rpcUrl' | 'registry'
>

/**
 * The Adjudicator client whose transactions `signer` signs, once the endpoint serves
 * `config.chain.chainId` (`CHAIN_ERROR`, `CONFIG`) and the deployment checks pass: nothing is
 * written before.
 */
export async function connectChain(ctx: ConnectChainContext): Promise<AdjudicatorClient> {
  const { config, signer, chainId, chainTimeoutMs, rpcUrl, registry } = ctx
  // The key stays inside the signer: transactions are signed through it.
  const client: AdjudicatorClient = await createAdjudicatorClient({
    rpcUrl: config.chain.rpcUrl,
    address: config.chain.adjudicator,
    account: (nonceManager) => signerToAccount(signer, { nonceManager }),
    chainId,
    timeoutMs: chainTimeoutMs,
    retryCount: 1,
  })
  let served: number
  try {
    served = await client.publicClient.getChainId()
  } catch (cause) {
    throw new ChanvmError('CHAIN_ERROR', `cannot reach the JSON-RPC endpoint ${config.chain.rpcUrl}`, {
      cause,
    })
  }
  if (served !== chainId)
    throw new ChanvmError(
      'CONFIG',
      `${config.chain.rpcUrl} serves chain ${served}, the configuration names ${chainId}`,
    )
  // Read-only checks first: a configuration that names the wrong contracts writes nothing.
  await checkDeployment({
    getCode: (a) => client.publicClient.getCode({ address: a }),
    rpcUrl,
    adjudicator: config.chain.adjudicator,
    apps: config.chain.apps ?? {},
    appCodeHashes: Object.fromEntries(registry.list.map((a) => [a.name, a.artifact.codeHash])),
  })
  return client
}
