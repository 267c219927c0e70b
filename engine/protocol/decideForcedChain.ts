import { encodeState } from '../channel/encodeState.ts'
import type { ForcedChain, State } from '../channel/types.ts'

export type ForcedChainDecision =
  | { type: 'reject'; reason: 'older-base' | 'different-base' | 'broken-chain' | 'stale'; message: string }
  /** This party already adopted exactly the chain's last state. */
  | { type: 'already' }
  /** Re-run every move from the base; adopt the last state if each gives exactly the move's state. */
  | { type: 're-run' }

/**
 * The adoption rule for a forced chain, before anything is re-run: it must be one channel's
 * consecutive versions; its base must be at or above the latest co-signed state and, at the same
 * version, be that very state (a chain over an older or another base rewrote co-signed history);
 * and it must end above what this party holds.
 *
 * @example
 * ```ts
 * const d = decideForcedChain({ chain, latest: latest?.state, adopted: forcedBase })
 * if (d.type === 're-run') for (const move of chain.moves) { ... }
 * ```
 */
export function decideForcedChain(f: {
  chain: ForcedChain
  latest: State | undefined
  adopted: State | undefined
}): ForcedChainDecision {
  const { chain, latest, adopted } = f
  const id = chain.channelId.toLowerCase()
  let prev = chain.base
  for (const s of [chain.base, ...chain.moves.map((m) => m.state)]) {
    if (s.channelId.toLowerCase() !== id)
      return {
        type: 'reject',
        reason: 'broken-chain',
        message: `a state of the chain is for channel ${s.channelId}`,
      }
    if (s !== chain.base && s.version !== prev.version + 1n) {
      return {
        type: 'reject',
        reason: 'broken-chain',
        message: `version ${s.version} does not follow version ${prev.version}`,
      }
    }
    prev = s
  }
  if (latest !== undefined) {
    if (chain.base.version < latest.version) {
      return {
        type: 'reject',
        reason: 'older-base',
        message: `the chain grew from version ${chain.base.version}, below the co-signed version ${latest.version}`,
      }
    }
    if (chain.base.version === latest.version && encodeState(chain.base) !== encodeState(latest)) {
      return {
        type: 'reject',
        reason: 'different-base',
        message: `the chain grew from another state at the co-signed version ${latest.version}`,
      }
    }
  }
  const tip = prev
  if (latest !== undefined && tip.version <= latest.version) {
    return {
      type: 'reject',
      reason: 'stale',
      message: `the chain ends at version ${tip.version}; this party holds the co-signed version ${latest.version}`,
    }
  }
  if (adopted !== undefined) {
    if (tip.version === adopted.version && encodeState(tip) === encodeState(adopted))
      return { type: 'already' }
    if (tip.version < adopted.version) {
      return {
        type: 'reject',
        reason: 'stale',
        message: `the chain ends at version ${tip.version}; this party adopted version ${adopted.version}`,
      }
    }
  }
  return { type: 're-run' }
}
