import { createPublicClient, createWalletClient, keccak256, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { ChanvmError } from '../errors.ts'
import { connectRpc } from './connectRpc.ts'

/** A compiled contract whose constructor takes no arguments: its name and creation code. */
export type ContractArtifact = { readonly contractName: string; readonly bytecode: Hex }

/** A deployed contract: its address, runtime code hash (the `appCodeHash` of channel params) and deploy gas. */
export type DeployedContract = { address: Address; codeHash: Hex; gasUsed: bigint }

/** Options of {@link deployContract}. */
export type DeployContractOptions = {
  rpcUrl: string
  /** Key of the deployer; it pays the gas. */
  privateKey: Hex
  artifact: ContractArtifact
}

/**
 * Deploys one contract to any JSON-RPC endpoint in one transaction and reads back its runtime
 * code hash from the chain (what `extcodehash` returns: the `appCodeHash` channels name). A
 * failed or reverted deployment, or no code at the new address, is `CHAIN_ERROR` naming the contract.
 *
 * @example
 * ```ts
 * const tally = await deployContract({ rpcUrl, privateKey, artifact: readArtifact('out/Tally.sol/Tally.json') })
 * tally.address // where chain.apps.tally points
 * ```
 */
export async function deployContract(
  opts: DeployContractOptions,
): Promise<DeployedContract & { chainId: number }> {
  const { chain, transport } = await connectRpc(opts.rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 })
  const wallet = createWalletClient({
    chain,
    transport,
    account: privateKeyToAccount(opts.privateKey),
    pollingInterval: 100,
  })
  try {
    const hash = await wallet.sendTransaction({ data: opts.artifact.bytecode })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    const address = receipt.contractAddress
    if (receipt.status !== 'success' || address == null)
      throw new Error(`deployment transaction ${hash} failed`)
    const code = await publicClient.getCode({ address })
    if (code === undefined || code === '0x') throw new Error(`no code at ${address} after deployment`)
    return { chainId: chain.id, address, codeHash: keccak256(code), gasUsed: receipt.gasUsed }
  } catch (cause) {
    throw new ChanvmError('CHAIN_ERROR', `cannot deploy ${opts.artifact.contractName}`, { cause })
  }
}
