import { decided, type Effect, type Handled } from './effects.ts'
import type { ChannelMachine } from './machine.ts'

/** `markDisputed`'s input: whether this is the first time the party hears of the dispute (it reports it once). */
export type Disputed = { first: boolean }

/**
 * A dispute is registered on chain for the channel (the watcher saw `Registered` or
 * `Progressed`): the mark is recorded (`save`) before the machine holds it; a proposal of this
 * party in flight gets the verdict `disputed` (the mover does not sign last); the first mark is
 * reported. From then on nothing new is signed (`machinePhase` is `disputed`). Idempotent.
 *
 * @example
 * ```ts
 * const d = onDisputed(machine, { first: true }, {})
 * ```
 */
export function onDisputed(ch: ChannelMachine, input: Disputed, _f: object): Handled<object> {
  const effects: Effect[] = [{ kind: 'save', fact: { disputed: true } }]
  if (ch.pending !== undefined)
    effects.push({ kind: 'resolve', id: ch.pending.id, value: { verdict: 'disputed' } })
  if (input.first) effects.push({ kind: 'emit', event: { type: 'disputed', channelId: ch.id } })
  return decided({ ...ch, disputed: true }, effects)
}
