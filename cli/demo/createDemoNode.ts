import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import {
  createAdjudicatorClient,
  type AdjudicatorClient,
} from '../../engine/adjudicator/createAdjudicatorClient.ts'
import type { ChannelParams, Env, State } from '../../engine/channel/types.ts'
import { createParty, type AppCode, type Party, type PartyEvent } from '../../engine/protocol/createParty.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { createMqttTransport } from '../../oracles/mqtt/createMqttTransport.ts'

/** A proposal as the demo's refusal policy sees it. */
export type ProposalView = { mover: number; action: Hex; state: State }

/** One party of a demo: its own SQLite file, sandbox, MQTT connection and chain client. */
export type DemoNode = {
  role: string
  address: Address
  privateKey: Hex
  party: Party
  /** Sends this party's transactions (deposit, forceProgress, conclude, withdraw). */
  chain: AdjudicatorClient
  /** The party's view of the chain head: its clock for off-chain steps. */
  head(): Promise<Env>
  close(): Promise<void>
}

/** Options of {@link createDemoNode}. */
export type DemoNodeOptions = {
  role: string
  privateKey: Hex
  rpcUrl: string
  brokerUrl: string
  adjudicator: Address
  params: ChannelParams
  app: AppCode
  /** Folder of the node's database (`<role>.db`). */
  dataDir: string
  /** When given, valid proposals it names a reason for are refused with a signed reject (the party's `approve` policy). */
  refuse?: (proposal: ProposalView) => string | undefined
  onPartyEvent?: (event: PartyEvent) => void
  /** How long a proposer waits for the other party. Default 15,000 ms (a refusal is a signed reject and needs no waiting). */
  responseTimeoutMs?: number
}

/**
 * Starts one party as a node of its own: a SQLite store in `dataDir`, its own sandbox, its own MQTT
 * connection (the peers talk over the broker, on per-channel topics) and a chain client with its
 * key. The party's clock is the chain head, so both sides agree on the Env of every step.
 *
 * @example
 * ```ts
 * const payer = await createDemoNode({ role: 'payer', privateKey, rpcUrl, brokerUrl, adjudicator, params, app: escrowApp, dataDir })
 * await payer.party.open(params, initial)
 * await payer.close()
 * ```
 */
export async function createDemoNode(opts: DemoNodeOptions): Promise<DemoNode> {
  const address = privateKeyToAddress(opts.privateKey)
  const closers: (() => Promise<void>)[] = []
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined)
    closers.length = 0
  }
  try {
    const chain = await createAdjudicatorClient({
      rpcUrl: opts.rpcUrl,
      chainId: Number(opts.params.chainId),
      address: opts.adjudicator,
      privateKey: opts.privateKey,
    })
    const head = async (): Promise<Env> => {
      const block = await chain.publicClient.getBlock({ blockTag: 'latest' })
      return { blockNumber: block.number, timestamp: block.timestamp }
    }
    const store = createSqliteStore({ path: join(opts.dataDir, `${opts.role}.db`) })
    closers.push(() => store.close())
    const mqtt = await createMqttTransport({
      url: opts.brokerUrl,
      self: address,
      clientId: `chanvm-demo-${opts.role}-${address.slice(2, 10)}-${process.pid}`,
      clean: true,
    })
    closers.push(() => mqtt.close())
    const refuse = opts.refuse
    const sandbox = await createSandbox()
    const party = await createParty({
      signer: createKeySigner(opts.privateKey),
      transport: mqtt,
      store,
      sandbox,
      apps: [opts.app],
      clock: head,
      responseTimeoutMs: opts.responseTimeoutMs ?? 15_000,
      ...(opts.onPartyEvent === undefined ? {} : { onEvent: opts.onPartyEvent }),
      ...(refuse === undefined
        ? {}
        : { approve: (step) => refuse({ mover: step.mover, action: step.action, state: step.to }) ?? true }),
    })
    closers.push(() => party.close())
    return { role: opts.role, address, privateKey: opts.privateKey, party, chain, head, close }
  } catch (e) {
    await close()
    throw e
  }
}
