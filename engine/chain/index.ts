export { startAnvil, type Anvil, type AnvilAccount, type StartAnvilOptions } from './startAnvil.ts'
export {
  deployContracts,
  type Deployment,
  type DeployedContract,
  type DeployContractsOptions,
  type ContractArtifact,
} from './deployContracts.ts'
export { deployContract, type DeployContractOptions } from './deployContract.ts'
export { connectRpc } from './connectRpc.ts'
export { waitForMinedReceipt } from './waitForMinedReceipt.ts'
