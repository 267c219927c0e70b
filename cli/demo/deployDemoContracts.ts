import { createPublicClient, createWalletClient, http, type Abi, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { ChanvmError } from '../../engine/errors.ts'

/** A compiled contract as `contracts/generated` holds it. */
export type ContractArtifact = { contractName: string; abi: Abi | readonly unknown[]; bytecode: Hex | string }

/** Where the demo's contracts went, and what deploying them cost. */
export type DeployedContracts = { adjudicator: Address; app: Address; chainId: number; gasUsed: bigint }

/**
 * Deploys a fresh Adjudicator and one app contract (neither has constructor arguments) from the
 * generated artifacts, waiting for each receipt. A fresh Adjudicator per run keeps demos on a
 * shared chain apart.
 *
 * Adapter: the engine has no deploy step committed yet; this is the minimal one the CLI needs.
 *
 * @example
 * ```ts
 * const { adjudicator, app } = await deployDemoContracts({ rpcUrl, privateKey, app: Escrow })
 * ```
 */
export async function deployDemoContracts(opts: { rpcUrl: string; privateKey: Hex; app: ContractArtifact }): Promise<DeployedContracts> {
  const transport = http(opts.rpcUrl, { retryCount: 3, timeout: 20_000 })
  const account = privateKeyToAccount(opts.privateKey)
  const pollingInterval = /127\.0\.0\.1|localhost/.test(opts.rpcUrl) ? 100 : 2_000
  const publicClient = createPublicClient({ transport, pollingInterval })
  let chainId: number
  try {
    chainId = await publicClient.getChainId()
  } catch (cause) {
    throw new ChanvmError('CHAIN_ERROR', `cannot reach the JSON-RPC endpoint ${opts.rpcUrl}`, { cause })
  }
  const chain = { id: chainId, name: `chain ${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [opts.rpcUrl] } } } as const
  const wallet = createWalletClient({ transport, account, chain, pollingInterval })
  const deployOne = async (artifact: ContractArtifact): Promise<{ address: Address; gasUsed: bigint }> => {
    try {
      const hash = await wallet.deployContract({ abi: artifact.abi as Abi, bytecode: artifact.bytecode as Hex })
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success' || receipt.contractAddress == null) throw new Error(`deployment reverted (${hash})`)
      return { address: receipt.contractAddress, gasUsed: receipt.gasUsed }
    } catch (cause) {
      throw new ChanvmError('CHAIN_ERROR', `deploying ${artifact.contractName} failed`, { cause })
    }
  }
  const adj = await deployOne(Adjudicator)
  const app = await deployOne(opts.app)
  return { adjudicator: adj.address, app: app.address, chainId, gasUsed: adj.gasUsed + app.gasUsed }
}
