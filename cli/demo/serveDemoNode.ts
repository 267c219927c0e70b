// One demo party as a chanvm node: createNode with the party's configuration and refusal policy,
// behind the node's HTTP API on a free loopback port (the API `chanvm node` serves).
import type { Address, Hex } from 'viem'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createNode } from '../../node/createNode.ts'
import { createApiServer } from '../../node/http/createApiServer.ts'
import type { NodeConfig, NodeEvent } from '../../node/types.ts'
import { refusalOf, type RefusalPolicy } from './refusalPolicy.ts'

/** What a demo node is started with (serializable: it crosses into the node's own process). */
export type DemoNodeInit = {
  role: string
  config: NodeConfig
  /** The party's key; the node signs states, proposals and transactions with it. */
  privateKey: Hex
  refuse?: RefusalPolicy
  /** How long `open` waits for every deposit (default 120,000 ms). */
  fundingTimeoutMs?: number
}

/** What a demo node reports besides its API: every node event and every refusal of its policy. */
export type DemoNodeHooks = {
  onEvent?: (event: NodeEvent) => void
  onRefused?: (version: bigint, reason: string) => void
}

/** A running demo node: its address, its API's base URL and how to stop it. */
export type ServedDemoNode = { address: Address; url: string; close(): Promise<void> }

/**
 * Starts the node and its API (127.0.0.1, a free port). The refusal policy becomes the node's
 * signing policy: a matching proposal is answered with a signed reject carrying the reason.
 *
 * @example
 * ```ts
 * const served = await serveDemoNode({ role: 'payer', config, privateKey }, { onEvent: console.log })
 * const api = createApiClient({ url: served.url })
 * ```
 */
export async function serveDemoNode(init: DemoNodeInit, hooks: DemoNodeHooks = {}): Promise<ServedDemoNode> {
  const policy = init.refuse
  const node = await createNode({
    config: init.config,
    signer: createKeySigner(init.privateKey),
    fundingTimeoutMs: init.fundingTimeoutMs ?? 120_000,
    ...(hooks.onEvent === undefined ? {} : { onEvent: hooks.onEvent }),
    ...(policy === undefined
      ? {}
      : {
          approve: (step) => {
            const why = refusalOf(policy, step)
            if (why === undefined) return true
            hooks.onRefused?.(step.to.version, why)
            return why
          },
        }),
  })
  try {
    const server = await createApiServer({ node, host: '127.0.0.1', port: 0, logger: false })
    const url = await server.start()
    let closing: Promise<void> | undefined
    return {
      address: node.address,
      url,
      close: () =>
        (closing ??= (async () => {
          await server.close().catch(() => undefined)
          await node.close()
        })()),
    }
  } catch (e) {
    await node.close()
    throw e
  }
}
