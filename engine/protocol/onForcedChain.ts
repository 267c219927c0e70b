import { encodeState } from '../channel/encodeState.ts'
import type { ForcedChain } from '../channel/types.ts'
import type { StepResult } from '../sandbox/runTransition.ts'
import { decideForcedChain } from './decideForcedChain.ts'
import { decided, need, type Handled, type Step } from './effects.ts'
import type { ChannelMachine } from './machine.ts'
import type { AdoptResult } from './types.ts'

/** `adoptForcedChain`'s input: the chain the watcher reports; `id` names the waiting caller. */
export type ForcedChainInput = { id: string; chain: ForcedChain }

/** The sandbox's re-run of each move of the chain, by index (`move0`, `move1`, …), asked for in order. */
export type ForcedChainFacts = { [move: `move${number}`]: StepResult | undefined }

/**
 * A chain of states forced on chain: by {@link decideForcedChain} (the watcher's rule,
 * `judgeForcedChain`, on its base, then the party's own checks), each move is re-run in this
 * party's sandbox, one fact at a time, from the previous move's state; when every re-run gives
 * exactly the move's state, the tip is recorded (`save`) and becomes the base of the next
 * off-chain step. A chain refused, or a move that re-runs to another state, changes nothing.
 *
 * @example
 * ```ts
 * const d = onForcedChain(machine, { id, chain }, { move0: await rerun(...) })
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
  let from = chain.base
  for (const [i, move] of chain.moves.entries()) {
    if (move.mover < 0n || move.mover >= BigInt(ch.params.participants.length))
      return end({ ok: false, reason: 'broken-chain', message: `move ${i} names mover ${move.mover}` })
    const key = `move${i}` as const
    const r = f[key]
    if (r === undefined)
      return need(key, { kind: 'rerun', from, mover: move.mover, action: move.action, env: move.env })
    if (!r.ok)
      return end({
        ok: false,
        reason: 'mismatch',
        message: `re-running move ${i} (version ${move.state.version}) fails: ${r.reason}: ${r.message}`,
      })
    if (encodeState(r.state) !== encodeState(move.state))
      return end({
        ok: false,
        reason: 'mismatch',
        message: `re-running move ${i} gives a different state than the chain's version ${move.state.version}`,
      })
    from = move.state
  }
  return decided({ ...ch, forced: tip }, [
    { kind: 'save', fact: { forced: tip } },
    { kind: 'emit', event: { type: 'adopted', channelId: ch.id, state: tip } },
    { kind: 'resolve', id, value: { adoption: { ok: true, state: tip } } },
  ])
}
