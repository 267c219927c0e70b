import { encodeState } from '../channel/encodeState.ts'
import type { ForcedChain } from '../channel/types.ts'
import type { StepResult } from '../sandbox/runTransition.ts'
import { decideForcedChain } from './decideForcedChain.ts'
import { decided, need, type Handled, type Step } from './effects.ts'
import type { ChannelMachine } from './machine.ts'
import type { AdoptResult } from './types.ts'

/** `adoptForcedChain`'s input: the chain the watcher reports; `id` names the waiting caller. */
export type ForcedChainInput = { id: string; chain: ForcedChain }

/** The sandbox's re-run of every move of the chain, each from the chain's state before it. */
export type ForcedChainFacts = { reruns?: StepResult[] }

/**
 * A chain of states forced on chain: by {@link decideForcedChain} (the watcher's rule,
 * `judgeForcedChain`, on its base, then the party's own checks) and once every mover is a
 * participant, every move is re-run in this party's sandbox from the chain's state before it (one
 * fact, so each state is compared once); when each gives exactly the move's state, the tip is
 * recorded (`save`) and becomes the base of the next off-chain step. A chain refused, or a move
 * that re-runs to another state, changes nothing.
 *
 * @example
 * ```ts
 * const d = onForcedChain(machine, { id, chain }, { reruns })
 * ```
 */
export function onForcedChain(
  ch: ChannelMachine,
  input: ForcedChainInput,
  f: ForcedChainFacts,
): Handled<ForcedChainFacts> {
  const { id, chain } = input
  const end = (r: AdoptResult): Step => decided(ch, [{ kind: 'resolve', id, value: { adoption: r } }])
  const d = decideForcedChain({ chain, latest: ch.latest?.state, adopted: ch.forced })
  const tip = chain.moves.at(-1)?.state ?? chain.base
  if (d.type === 'already') return end({ ok: true, state: tip })
  if (d.type === 'reject') return end({ ok: false, reason: d.reason, message: d.message })
  const n = BigInt(ch.params.participants.length)
  const stranger = chain.moves.findIndex((m) => m.mover < 0n || m.mover >= n)
  if (stranger >= 0) {
    const message = `move ${stranger} names mover ${chain.moves[stranger]?.mover}`
    return end({ ok: false, reason: 'broken-chain', message })
  }
  if (f.reruns === undefined && chain.moves.length > 0)
    return need('reruns', { kind: 'rerunMoves', base: chain.base, moves: chain.moves })
  for (const [i, move] of chain.moves.entries()) {
    const r = f.reruns?.[i]
    if (r === undefined || !r.ok) {
      const why = r === undefined ? 'not re-run' : `${r.reason}: ${r.message}`
      const message = `re-running move ${i} (version ${move.state.version}) fails: ${why}`
      return end({ ok: false, reason: 'mismatch', message })
    }
    if (encodeState(r.state) !== encodeState(move.state))
      return end({
        ok: false,
        reason: 'mismatch',
        message: `re-running move ${i} gives a different state than the chain's version ${move.state.version}`,
      })
  }
  return decided({ ...ch, forced: tip }, [
    { kind: 'save', fact: { forced: tip } },
    { kind: 'emit', event: { type: 'adopted', channelId: ch.id, state: tip } },
    { kind: 'resolve', id, value: { adoption: { ok: true, state: tip } } },
  ])
}
