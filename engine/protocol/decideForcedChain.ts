import { bytesToHex } from 'viem'
import { hashStateStruct } from '../channel/hashState.ts'
import type { ForcedChain, State } from '../channel/types.ts'
import { judgeForcedChain } from './judgeForcedChain.ts'

export type ForcedChainDecision =
  | { type: 'reject'; reason: 'older-base' | 'different-base' | 'broken-chain' | 'stale'; message: string }
  /** This party already adopted exactly the chain's last state. */
  | { type: 'already' }
  /** Re-run every move from the base; adopt the last state if each gives exactly the move's state. */
  | { type: 're-run' }

/**
 * The party's rule for a forced chain, before anything is re-run: it must be one channel's
 * consecutive versions; its base must pass {@link judgeForcedChain} (the rule the watcher hands
 * chains over by: at or above the latest co-signed state and, at the same version, that very
 * state); and it must end above what this party holds.
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
  const base = judgeForcedChain(chain, latest)
  if (base === 'older-base' && latest !== undefined)
    return {
      type: 'reject',
      reason: 'older-base',
      message: `the chain grew from version ${chain.base.version}, below the co-signed version ${latest.version}`,
    }
  if (base === 'different-base' && latest !== undefined)
    return {
      type: 'reject',
      reason: 'different-base',
      message: `the chain grew from another state at the co-signed version ${latest.version}`,
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
    if (tip.version === adopted.version && sameState(tip, adopted)) return { type: 'already' }
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

/** One state, by its EIP-712 struct hash (as the Adjudicator and {@link judgeForcedChain} see it). */
function sameState(a: State, b: State): boolean {
  return bytesToHex(hashStateStruct(a)) === bytesToHex(hashStateStruct(b))
}
