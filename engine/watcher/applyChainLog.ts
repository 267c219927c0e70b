import { bytesToHex } from 'viem'
import { hashStateStruct } from '../channel/hashState.ts'
import type { ForcedMove, State } from '../channel/types.ts'
import type { ChainLog, ChannelView } from './types.ts'

/**
 * Folds one Adjudicator log into a channel's view. `Registered` starts a chain at its co-signed
 * state (register, and forceProgress with signatures for the base it registers); `Progressed`
 * appends a move whose Env is the log's block number and that block's timestamp. A move that does
 * not continue the chain the view holds (a log was not read) leaves the chain unknown.
 *
 * @example
 * ```ts
 * for (const log of await chain.logs(from, to, [view.channelId])) view = applyChainLog(view, log)
 * ```
 */
export function applyChainLog(view: ChannelView, log: ChainLog): ChannelView {
  switch (log.type) {
    case 'Deposited':
      return { ...view, holdings: log.holdings }
    case 'Registered': {
      const state = copyState(log.state)
      return {
        ...view,
        status: 'disputed',
        version: state.version,
        baseVersion: state.version,
        forced: false,
        finalizesAt: log.finalizesAt,
        movesUntil: log.movesUntil,
        stateHash: bytesToHex(hashStateStruct(state)),
        held: state,
        chain: { channelId: view.channelId, base: state, moves: [] },
      }
    }
    case 'Progressed': {
      const state = copyState(log.state)
      const move: ForcedMove = {
        mover: log.mover,
        action: log.action,
        env: { blockNumber: log.blockNumber, timestamp: log.blockTimestamp },
        state,
      }
      const c = view.chain
      const continues =
        c !== undefined &&
        view.status === 'disputed' &&
        c.base.version === log.baseVersion &&
        view.held !== undefined &&
        view.held.version + 1n === state.version
      return {
        ...view,
        status: 'disputed',
        version: state.version,
        baseVersion: log.baseVersion,
        forced: state.version > log.baseVersion,
        finalizesAt: log.finalizesAt,
        stateHash: bytesToHex(hashStateStruct(state)),
        held: state,
        chain: continues ? { ...c, moves: [...c.moves, move] } : undefined,
      }
    }
    case 'Concluded': {
      // What stays is what was deposited for non-participants (reclaimed by them later).
      const paid = log.payouts.reduce((a, b) => a + b, 0n)
      const holdings = view.holdings > paid ? view.holdings - paid : 0n
      return { ...view, status: 'concluded', version: log.version, finalizesAt: 0n, holdings }
    }
  }
}

function copyState(s: State): State {
  return {
    channelId: s.channelId,
    version: s.version,
    balances: [...s.balances],
    appData: s.appData,
    isFinal: s.isFinal,
  }
}
