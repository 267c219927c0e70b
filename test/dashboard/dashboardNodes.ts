// Two real cold-chain nodes for the dashboard tests: anvil with the Adjudicator and
// ColdChainInsurance, an embedded broker, the owner's node (alice: the thermometer as its input,
// its API behind a token) and the insurer's node (bob: loopback, no token), each serving the page.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther, type Hex } from 'viem'
import { ColdChainInsurance } from '../../contracts/generated/ColdChainInsurance.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { createNode } from '../../node/createNode.ts'
import { createApiServer, type ApiServer } from '../../node/http/createApiServer.ts'
import { createKeystore, readKeystore } from '../../node/keystore.ts'
import type { ChanvmNode, NodeConfig, OpenRequest } from '../../node/types.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import { startAedes, type TestBroker } from '../oracles/brokers.ts'

export type DashboardNode = { node: ChanvmNode; server: ApiServer; url: string }

export type DashboardNodes = {
  anvil: Anvil
  broker: TestBroker
  /** The owner (participant 0); its API requires {@link DASHBOARD_TOKEN}. */
  alice: DashboardNode
  /** The insurer (participant 1); loopback without a token. */
  bob: DashboardNode
  thermometer: OracleKey
  device: Hex
  /** The open request of a cold-chain policy between them, for `role`. */
  openRequest(role: 'first' | 'second', nonce: bigint): OpenRequest
  stop(): Promise<void>
}

export const DASHBOARD_TOKEN = 'dashboard-test-token-0123456789'

/** Starts anvil, the broker and the two nodes. */
export async function startDashboardNodes(): Promise<DashboardNodes> {
  const anvil = await startAnvil()
  const broker = await startAedes()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-dashboard-'))
  const [deployer, a, b] = anvil.accounts
  assert(deployer && a && b)
  const deployment = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    privateKey: deployer.privateKey,
    apps: [ColdChainInsurance],
  })
  const app = deployment.apps['ColdChainInsurance']
  assert(app)
  const thermometer = createOracleKey('p256')
  const device = getSignerId(thermometer)
  const start = async (who: 'alice' | 'bob', key: Hex, token?: string): Promise<DashboardNode> => {
    const keystore = join(dir, `${who}.key.json`)
    writeFileSync(keystore, await createKeystore(key, who, { n: 1024 }))
    const config: NodeConfig = {
      dataDir: join(dir, who),
      keystore,
      chain: {
        rpcUrl: anvil.rpcUrl,
        chainId: anvil.chainId,
        adjudicator: deployment.adjudicator.address,
        pollingIntervalMs: 100,
        apps: { 'cold-chain': app.address },
      },
      broker: { url: broker.url },
      responseTimeoutMs: 5_000,
      ...(who === 'alice' ? { inputs: [{ topic: 'chanvm/v1/devices/+/readings', signers: [device] }] } : {}),
    }
    const node = await createNode({
      config,
      signer: await readKeystore(keystore, who),
      fundingTimeoutMs: 60_000,
    })
    const server = await createApiServer({
      node,
      host: '127.0.0.1',
      port: 0,
      logger: false,
      ...(token === undefined ? {} : { token }),
    })
    return { node, server, url: await server.start() }
  }
  const alice = await start('alice', a.privateKey, DASHBOARD_TOKEN)
  const bob = await start('bob', b.privateKey)
  return {
    anvil,
    broker,
    alice,
    bob,
    thermometer,
    device,
    openRequest: (role, nonce) => ({
      app: 'cold-chain',
      counterparty: role === 'first' ? b.address : a.address,
      role,
      balances: [parseEther('0.05'), parseEther('1')],
      nonce,
      challengeDuration: 3_600n,
      terms: {
        device,
        minValue: '2000',
        maxValue: '8000',
        runLength: 3,
        premium: parseEther('0.01').toString(),
        insuredSum: parseEther('1').toString(),
        periodSeconds: 3_600,
        maxPeriods: 24,
        claimWindow: 600,
      },
    }),
    async stop() {
      for (const n of [alice, bob]) {
        await n.server.close()
        await n.node.close().catch(() => undefined)
      }
      await broker.stop()
      await anvil.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
