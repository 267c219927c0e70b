import { createPublicClient, createWalletClient, keccak256, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { ChanvmError } from '../errors.ts'
import { connectRpc } from './connectRpc.ts'

/** A compiled contract as `contracts/build.ts` generates it (constructor without arguments). */
export type ContractArtifact = { readonly contractName: string; readonly bytecode: Hex }

/** Options of {@link deployContracts}. */
export type DeployContractsOptions = {
  rpcUrl: string
  /** Key of the deployer; it pays the gas. */
  privateKey: Hex
  /** App contracts to deploy besides the Adjudicator. Default: `[Escrow]`. */
  apps?: readonly ContractArtifact[]
}

/** A deployed contract: its address, runtime code hash (the `appCodeHash` of channel params) and deploy gas. */
export type DeployedContract = { address: Address; codeHash: Hex; gasUsed: bigint }

/** What {@link deployContracts} deployed. */
export type Deployment = {
  chainId: number
  adjudicator: DeployedContract
  /** By contract name, e.g. `apps.Escrow.address`. */
  apps: Record<string, DeployedContract>
}

/**
 * Deploys the Adjudicator and the apps to any JSON-RPC endpoint, one transaction each, and reads
 * back each runtime code hash from the chain (what `extcodehash` returns, so it is the
 * `appCodeHash` to put in channel params).
 *
 * @example
 * ```ts
 * const anvil = await startAnvil()
 * const d = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: anvil.accounts[0].privateKey })
 * const params = { ..., adjudicator: d.adjudicator.address, app: d.apps.Escrow.address, appCodeHash: d.apps.Escrow.codeHash }
 * ```
 */
export async function deployContracts(opts: DeployContractsOptions): Promise<Deployment> {
  const { chain, transport } = await connectRpc(opts.rpcUrl)
  const chainId = chain.id
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 })
  const wallet = createWalletClient({
    chain,
    transport,
    account: privateKeyToAccount(opts.privateKey),
    pollingInterval: 100,
  })

  const deployOne = async (artifact: ContractArtifact): Promise<DeployedContract> => {
    try {
      const hash = await wallet.sendTransaction({ data: artifact.bytecode })
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      const address = receipt.contractAddress
      if (receipt.status !== 'success' || address == null)
        throw new Error(`deployment transaction ${hash} failed`)
      const code = await publicClient.getCode({ address })
      if (code === undefined || code === '0x') throw new Error(`no code at ${address} after deployment`)
      return { address, codeHash: keccak256(code), gasUsed: receipt.gasUsed }
    } catch (cause) {
      throw new ChanvmError('CHAIN_ERROR', `cannot deploy ${artifact.contractName}`, { cause })
    }
  }

  const adjudicator = await deployOne(Adjudicator)
  const apps: Record<string, DeployedContract> = {}
  for (const app of opts.apps ?? [Escrow]) apps[app.contractName] = await deployOne(app)
  return { chainId, adjudicator, apps }
}
