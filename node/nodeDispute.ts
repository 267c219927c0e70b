// A node's dispute methods: the plan of the next dispute step and the step itself, forcing this
// node's last step a peer refused or left unanswered (see node/dispute.ts for the planner).
import type { Hex } from 'viem'
import { planDispute, takeDisputeStep, type DisputeDeps } from './dispute.ts'
import type { NodeContext } from './nodeContext.ts'
import type { ChanvmNode } from './types.ts'

/** What {@link createNodeDispute} needs from the node. */
export type NodeDisputeContext = Pick<
  NodeContext,
  | 'client'
  | 'store'
  | 'party'
  | 'signer'
  | 'sandbox'
  | 'appOf'
  | 'recordOf'
  | 'unsigned'
  | 'counters'
  | 'emit'
  | 'ensureOpen'
>

/** The node's `disputePlan` and `disputeStep`. */
export function createNodeDispute(ctx: NodeDisputeContext): Pick<ChanvmNode, 'disputePlan' | 'disputeStep'> {
  const { client, store, party, signer, sandbox, appOf, recordOf, unsigned, counters, emit } = ctx
  const { ensureOpen } = ctx
  const disputeDeps = async (channelId: Hex): Promise<DisputeDeps> => {
    const rec = await recordOf(channelId)
    const app = appOf(rec.params)
    const code =
      app === undefined ? undefined : { code: app.artifact.deployedBytecode, abi: app.artifact.abi }
    return {
      client,
      store,
      params: rec.params,
      me: rec.myIndex,
      party,
      signer,
      sandbox,
      ...(code === undefined
        ? {}
        : { appCode: code.code, ...(code.abi === undefined ? {} : { appAbi: code.abi }) }),
    }
  }
  const pendingOf = (channelId: Hex) => {
    const action = unsigned.get(channelId.toLowerCase())
    return action === undefined ? {} : { pendingAction: action }
  }
  return {
    async disputePlan(channelId) {
      ensureOpen()
      return planDispute(await disputeDeps(channelId), channelId, pendingOf(channelId))
    },
    async disputeStep(channelId, opts = {}) {
      ensureOpen()
      return takeDisputeStep(await disputeDeps(channelId), channelId, {
        ...pendingOf(channelId),
        ...(opts.force === undefined ? {} : { force: opts.force }),
        onProgress: (p) => {
          if (p.type !== 'mined') return
          if (p.step === 'force') unsigned.delete(p.channelId.toLowerCase())
          counters.gasSpent += p.result.gasUsed
          emit({
            source: 'chain',
            channelId: p.channelId,
            step: p.step,
            gasUsed: p.result.gasUsed,
            hash: p.result.hash,
          })
        },
      })
    },
  }
}
