import type { SignatureRecord } from '../store/types.ts'
import { decided, need, type Effect, type Handled } from './effects.ts'
import { others, selfOf, withheld, type ChannelMachine } from './machine.ts'
import { commitOf } from './messageChecks.ts'

/** What {@link onResync} needs from the store: this party's signature record at latest + 1, or null. */
export type ResyncFacts = { signedNext?: SignatureRecord | null }

/**
 * A channel loaded from the store at start-up (docs/protocol.md, "Re-sync"): the others get the
 * latest co-signed state again, as a commit (one may have been lost with the process that stopped);
 * when this party holds its own signature at latest + 1 without the commit, it asks the others for
 * it (`askSync`, showing what it signed there) and asks again while it stays missing (`schedule`).
 *
 * On a channel in dispute the same goes out but the signature: the commit carries a state every
 * participant signed already (the others' watchers may need it to refute a stale registration),
 * and the sync request shows nothing this party signed above the latest. Nothing is written and
 * the machine stays as it was.
 *
 * @example
 * ```ts
 * const d = onResync(machine, {}, { signedNext: null })
 * ```
 */
export function onResync(ch: ChannelMachine, _input: object, f: ResyncFacts): Handled<ResyncFacts> {
  const next = (ch.latest?.state.version ?? -1n) + 1n
  if (f.signedNext === undefined) return need('signedNext', { kind: 'signedAt', version: next })
  const effects: Effect[] = []
  if (ch.latest !== undefined) {
    const message = commitOf(ch, selfOf(ch), ch.latest)
    for (const to of others(ch)) effects.push({ kind: 'send', to, message })
  }
  const held = f.signedNext
  if (held !== null) {
    effects.push(
      withheld(ch, next)
        ? { kind: 'askSync', version: next }
        : { kind: 'askSync', version: next, show: held },
      { kind: 'schedule', timer: 'sync', version: next },
    )
  }
  return decided(ch, effects)
}
