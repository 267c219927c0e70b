import type { Hex } from 'viem'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'
import { decideAccept } from './decideAccept.ts'
import { decided, type Handled } from './effects.ts'
import { finishOffered } from './finishOwn.ts'
import { indexOf, lower, offer, type ChannelMachine, type Msg } from './machine.ts'
import { recovers, stateOf } from './messageChecks.ts'

/**
 * A peer's `accept` of this party's proposal: counted for the proposal in flight (once every
 * other participant accepted, its update's verdict is `finish`), or, late, for an unsettled own
 * proposal, which is finished here once every peer signed it.
 *
 * @example
 * ```ts
 * const d = onAccept(machine, m, {})
 * ```
 */
export function onAccept(ch: ChannelMachine, m: Msg<'accept'>, _f: object): Handled<object> {
  const version = BigInt(m.version)
  const p = ch.pending
  const unsettled = ch.own.get(lower(m.digest))
  const facts = {
    version,
    digest: m.digest,
    pending: p === undefined ? undefined : { version: p.state.version, digest: p.digest },
    unsettled: unsettled !== undefined && unsettled.version === version,
    fromIndex: indexOf(ch, m.from),
    myIndex: ch.myIndex,
  }
  let d = decideAccept(facts)
  if (d.type === 'need') d = decideAccept({ ...facts, signatureValid: recovers(m.digest, m.sig, m.from) })
  if (d.type === 'drop') return decided(ch, [{ kind: 'drop', reason: d.reason, message: d.message }])
  const sig = canonicalSignature(m.sig) as Hex
  if (d.type === 'offer' && unsettled !== undefined) {
    // A late accept of an own proposal whose update ended: finish it once every peer signed.
    const state = stateOf(unsettled.msg.state)
    const o = offer(ch, state, m.digest, m.from, sig)
    return o.sigs === undefined ? decided(o.machine) : finishOffered(o.machine, state, m.digest, o.sigs)
  }
  if (d.type !== 'take' || p === undefined) return decided(ch)
  const accepts = new Map(p.accepts).set(lower(m.from), sig)
  const machine = { ...ch, pending: { ...p, accepts } }
  if (accepts.size !== ch.params.participants.length - 1) return decided(machine)
  return decided(machine, [
    { kind: 'resolve', id: p.id, value: { verdict: { finish: p.state, digest: p.digest, sigs: accepts } } },
  ])
}
