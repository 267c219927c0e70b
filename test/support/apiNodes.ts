// Two real nodes (alice, bob) on anvil and a broker, each behind its HTTP API on loopback: what the
// API and command tests drive.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../node/createNode.ts'
import { createApiServer, type ApiServer } from '../../node/http/createApiServer.ts'
import { createKeystore, readKeystore } from '../../node/keystore.ts'
import type { ChanvmNode, NodeConfig } from '../../node/types.ts'
import { startAedes, type TestBroker } from '../oracles/brokers.ts'
import { startChainFixture, type ChainFixture } from './anvilFixture.ts'

/** One node and its API server, listening at `url`. */
export type ApiNode = { node: ChanvmNode; server: ApiServer; url: string }

export type ApiNodes = {
  f: ChainFixture
  broker: TestBroker
  alice: ApiNode
  bob: ApiNode
  /** The node's data folder. */
  dataDir(who: 'alice' | 'bob'): string
  /** Closes one node and its API and starts them again on the same data folder (a new `url`). */
  restart(who: 'alice' | 'bob'): Promise<ApiNode>
  stop(): Promise<void>
}

/**
 * Starts anvil with the contracts, aedes, and alice's and bob's nodes (keystores with a low scrypt
 * cost, escrow enabled) behind APIs that require `token`.
 */
export async function startApiNodes(token: string, tag: string): Promise<ApiNodes> {
  const f = await startChainFixture()
  const broker = await startAedes()
  const dir = mkdtempSync(join(tmpdir(), `chanvm-${tag}-`))
  const escrow = f.deployment.apps['Escrow']
  assert(escrow)
  const start = async (who: 'alice' | 'bob'): Promise<ApiNode> => {
    const keystore = join(dir, `${who}.key.json`)
    writeFileSync(keystore, await createKeystore(f[who].privateKey, who, { n: 1024 }))
    const config: NodeConfig = {
      dataDir: join(dir, who),
      keystore,
      chain: {
        rpcUrl: f.anvil.rpcUrl,
        chainId: f.anvil.chainId,
        adjudicator: f.deployment.adjudicator.address,
        pollingIntervalMs: 100,
        apps: { escrow: escrow.address },
      },
      broker: { url: broker.url },
      responseTimeoutMs: 3_000,
    }
    const node = await createNode({
      config,
      signer: await readKeystore(keystore, who),
      fundingTimeoutMs: 60_000,
    })
    const server = await createApiServer({ node, host: '127.0.0.1', port: 0, token, logger: false })
    return { node, server, url: await server.start() }
  }
  const nodes: ApiNodes = {
    f,
    broker,
    alice: await start('alice'),
    bob: await start('bob'),
    dataDir: (who) => join(dir, who),
    async restart(who) {
      await nodes[who].server.close()
      await nodes[who].node.close()
      nodes[who] = await start(who)
      return nodes[who]
    },
    async stop() {
      for (const api of [nodes.alice, nodes.bob]) {
        await api.server.close()
        await api.node.close().catch(() => undefined)
      }
      await broker.stop()
      await f.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return nodes
}
