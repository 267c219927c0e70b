import type { Address } from 'viem'
import type { AppBenchInput, AppModule } from '../apps/types.ts'
import { deployContracts, type Deployment } from '../engine/chain/deployContracts.ts'
import type { Anvil, AnvilAccount } from '../engine/chain/startAnvil.ts'
import { loopApp } from './loopApp.ts'

/** What the node-level benchmarks need once the loop app is on chain. */
export type DeployedLoopApp = {
  /** Deploys and pays deposits; `a` and `b` are the two parties. */
  funder: AnvilAccount
  a: AnvilAccount
  b: AnvilAccount
  app: AppModule
  bench: AppBenchInput & { loop: NonNullable<AppBenchInput['loop']> }
  chainId: number
  adjudicator: Address
  appAddress: Address
  /** The whole deployment (the Adjudicator's deploy gas, the app's code hash). */
  deployment: Deployment
  /** The context the app's benchmark inputs are built from. */
  ctx: { chainId: bigint; env: { blockNumber: bigint; timestamp: bigint }; third: Address }
}

/**
 * Deploys the Adjudicator and the benchmarks' loop app (see {@link loopApp}) on `anvil` from its
 * first account (checking that the code on chain is the code the sandbox runs), and names the next
 * two accounts as the parties.
 *
 * @example
 * ```ts
 * const { a, b, app, appAddress, ctx } = await deployLoopApp(await startAnvil())
 * ```
 */
export async function deployLoopApp(anvil: Pick<Anvil, 'rpcUrl' | 'accounts'>): Promise<DeployedLoopApp> {
  const [funder, a, b] = anvil.accounts
  if (funder === undefined || a === undefined || b === undefined)
    throw new Error('anvil gave too few accounts')
  const { app, bench } = await loopApp()
  const d = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    privateKey: funder.privateKey,
    apps: [app.artifact],
  })
  const deployed = d.apps[app.artifact.contractName]
  if (deployed === undefined || deployed.codeHash !== app.artifact.codeHash)
    throw new Error(`${app.artifact.contractName}: the deployment does not match the sandbox code`)
  return {
    funder,
    a,
    b,
    app,
    bench,
    chainId: d.chainId,
    adjudicator: d.adjudicator.address,
    appAddress: deployed.address,
    deployment: d,
    ctx: {
      chainId: BigInt(d.chainId),
      env: { blockNumber: 0n, timestamp: BigInt(Math.floor(Date.now() / 1000)) },
      third: funder.address,
    },
  }
}
