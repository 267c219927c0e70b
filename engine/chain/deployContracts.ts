import { type Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { connectRpc } from './connectRpc.ts'
import { deployContract, type ContractArtifact, type DeployedContract } from './deployContract.ts'

export type { ContractArtifact, DeployedContract } from './deployContract.ts'

/** Options of {@link deployContracts}. */
export type DeployContractsOptions = {
  rpcUrl: string
  /** Key of the deployer; it pays the gas. */
  privateKey: Hex
  /** App contracts to deploy besides the Adjudicator (an app module's `artifact` is one); may be empty. */
  apps: readonly ContractArtifact[]
}

/** What {@link deployContracts} deployed. */
export type Deployment = {
  chainId: number
  adjudicator: DeployedContract
  /** By contract name, e.g. `apps.Tally.address`. */
  apps: Record<string, DeployedContract>
}

/**
 * Deploys the Adjudicator and the given apps to any JSON-RPC endpoint, one transaction each, and
 * reads back each runtime code hash from the chain (what `extcodehash` returns, so it is the
 * `appCodeHash` to put in channel params).
 *
 * @example
 * ```ts
 * const anvil = await startAnvil()
 * const app = loadAppModule('./tally/manifest.json')
 * const d = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: anvil.accounts[0].privateKey, apps: [app.artifact] })
 * const params = { ..., adjudicator: d.adjudicator.address, app: d.apps.Tally.address, appCodeHash: d.apps.Tally.codeHash }
 * ```
 */
export async function deployContracts(opts: DeployContractsOptions): Promise<Deployment> {
  const { chain } = await connectRpc(opts.rpcUrl)
  const deploy = async (artifact: ContractArtifact): Promise<DeployedContract> => {
    const { address, codeHash, gasUsed } = await deployContract({
      rpcUrl: opts.rpcUrl,
      privateKey: opts.privateKey,
      artifact,
    })
    return { address, codeHash, gasUsed }
  }
  const adjudicator = await deploy(Adjudicator)
  const apps: Record<string, DeployedContract> = {}
  for (const app of opts.apps) apps[app.contractName] = await deploy(app)
  return { chainId: chain.id, adjudicator, apps }
}
