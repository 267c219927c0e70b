import type { Hex } from 'viem'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'
import { decideOpen } from './decideOpen.ts'
import { andThen, decided, type Effect, type Handled, type Step } from './effects.ts'
import { isPeer, lower, others, selfOf, takeLatest, type ChannelMachine, type Msg } from './machine.ts'
import { commitOf, recovers } from './messageChecks.ts'

/**
 * A peer's `open` (handed over once this party opens the channel too): its signature on the
 * initial state is counted; an open of a channel co-signed already is answered with the latest
 * state.
 *
 * @example
 * ```ts
 * const d = onOpen(machine, m, {})
 * ```
 */
export function onOpen(ch: ChannelMachine, m: Msg<'open'>, _f: object): Handled<object> {
  const o = ch.opening
  const facts = {
    opening: o === undefined ? undefined : { digest: o.digest },
    latestVersion: ch.latest?.state.version,
    fromIsPeer: isPeer(ch, m.from),
  }
  let d = decideOpen(facts)
  if (d.type === 'need' && o !== undefined)
    d = decideOpen({ ...facts, signatureValid: recovers(o.digest, m.sig, m.from) })
  if (d.type === 'hold')
    return decided(ch, [
      { kind: 'drop', reason: 'not-opening', message: 'an open for a channel this party failed to open' },
    ])
  if (d.type === 'drop') return decided(ch, [{ kind: 'drop', reason: d.reason, message: d.message }])
  if (d.type === 'answer-latest' && ch.latest !== undefined)
    return decided(ch, [{ kind: 'send', to: m.from, message: commitOf(ch, selfOf(ch), ch.latest) }])
  if (d.type !== 'take' || o === undefined) return decided(ch)
  const sigs = new Map(o.sigs).set(lower(m.from), canonicalSignature(m.sig) as Hex)
  return completeOpen({ ...ch, opening: { ...o, sigs } })
}

/**
 * Once every participant signed the initial state: stores it co-signed and sends it to the
 * others (a peer may have handed its open to this party and lost this party's own).
 *
 * @example
 * ```ts
 * return completeOpen(machine)
 * ```
 */
export function completeOpen(ch: ChannelMachine): Step {
  const o = ch.opening
  if (o === undefined || o.sigs.size !== ch.params.participants.length) return decided(ch)
  const signed = {
    state: o.state,
    signatures: ch.params.participants.map((a) => o.sigs.get(lower(a)) as Hex),
  }
  const stored = andThen(decided(ch, [{ kind: 'persist', signed }]), (c) => takeLatest(c, signed))
  return andThen(stored, (c) =>
    decided(
      c,
      others(c).map((to): Effect => ({ kind: 'send', to, message: commitOf(c, selfOf(c), signed) })),
    ),
  )
}
