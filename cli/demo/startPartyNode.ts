import type { Hex } from 'viem'
import { coldChainApp } from '../../apps/coldChain/coldChainClient.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { tvDeliveryApp } from '../../apps/tvDelivery/tvDeliveryClient.ts'
import { createDemoNode, type DemoNode } from './createDemoNode.ts'
import type { PartyNodeInit, RefusalPolicy } from './partyNodeProtocol.ts'

const apps = { escrow: escrowApp, tvDelivery: tvDeliveryApp, coldChain: coldChainApp } as const

/** The policy's reason when a proposal matches every field it gives, else undefined. */
function refusalOf(
  policy: RefusalPolicy,
  p: { mover: number; action: Hex; state: { balances: readonly bigint[] } },
  base: readonly bigint[] | undefined,
): string | undefined {
  if (policy.mover !== undefined && p.mover !== policy.mover) return undefined
  if (policy.action !== undefined && p.action.toLowerCase() !== policy.action.toLowerCase()) return undefined
  if (
    policy.balanceGrowsFor !== undefined &&
    (p.state.balances[policy.balanceGrowsFor] ?? 0n) <= (base?.[policy.balanceGrowsFor] ?? 0n)
  )
    return undefined
  return policy.reason
}

/**
 * Starts a party node in this process from a serializable description (what a party process gets
 * over IPC): the app by name and a declarative refusal policy. `onRefused` hears every refusal.
 *
 * @example
 * ```ts
 * const node = await startPartyNode({ role: 'payer', privateKey, rpcUrl, brokerUrl, params, app: 'escrow', dataDir,
 *   refuse: { reason: 'will not pay', mover: 1, balanceGrowsFor: 1 } })
 * ```
 */
export async function startPartyNode(
  init: PartyNodeInit,
  onRefused?: (version: bigint, reason: string) => void,
): Promise<DemoNode> {
  const policy = init.refuse
  let latestBalances: readonly bigint[] | undefined
  return createDemoNode({
    role: init.role,
    privateKey: init.privateKey,
    rpcUrl: init.rpcUrl,
    brokerUrl: init.brokerUrl,
    adjudicator: init.params.adjudicator,
    params: init.params,
    app: apps[init.app],
    dataDir: init.dataDir,
    ...(policy === undefined
      ? {}
      : {
          refuse: (p) => {
            const why = refusalOf(policy, p, latestBalances)
            if (why !== undefined) onRefused?.(p.state.version, why)
            return why
          },
        }),
    onPartyEvent: (e) => {
      if (e.type === 'committed' || e.type === 'opened') latestBalances = e.state.balances
    },
  })
}
