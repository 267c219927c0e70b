import { encodeState } from '../channel/encodeState.ts'
import type { ForcedChain } from '../channel/types.ts'
import { decideForcedChain } from './decideForcedChain.ts'
import { channelOf, type PartyContext } from './partyContext.ts'
import type { AdoptResult } from './types.ts'

/**
 * `Party.adoptForcedChain`: by {@link decideForcedChain}, re-runs every move of a chain forced on
 * chain in this party's sandbox and, when each gives exactly the move's state, records the tip as
 * the base of the next off-chain step.
 *
 * @example
 * ```ts
 * const r = await adoptForcedChain(ctx, chain)
 * ```
 */
export function adoptForcedChain(ctx: PartyContext, chain: ForcedChain): Promise<AdoptResult> {
  const ch = channelOf(ctx, chain.channelId)
  return ctx.io.rt.serial(ch, async (): Promise<AdoptResult> => {
    const d = decideForcedChain({ chain, latest: ch.latest?.state, adopted: ch.forced })
    const tip = chain.moves.at(-1)?.state ?? chain.base
    if (d.type === 'already') return { ok: true, state: tip }
    if (d.type === 'reject') return { ok: false, reason: d.reason, message: d.message }
    let from = chain.base
    for (const [i, move] of chain.moves.entries()) {
      if (move.mover < 0n || move.mover >= BigInt(ch.params.participants.length)) {
        return { ok: false, reason: 'broken-chain', message: `move ${i} names mover ${move.mover}` }
      }
      const r = await ctx.io.rerun(ch, { from, mover: move.mover, action: move.action, env: move.env })
      if (!r.ok)
        return {
          ok: false,
          reason: 'mismatch',
          message: `re-running move ${i} (version ${move.state.version}) fails: ${r.reason}: ${r.message}`,
        }
      if (encodeState(r.state) !== encodeState(move.state)) {
        return {
          ok: false,
          reason: 'mismatch',
          message: `re-running move ${i} gives a different state than the chain's version ${move.state.version}`,
        }
      }
      from = move.state
    }
    await ctx.io.saveForced(ch, tip)
    ch.forced = tip
    ctx.io.emit({ type: 'adopted', channelId: ch.id, state: tip })
    return { ok: true, state: tip }
  })
}
