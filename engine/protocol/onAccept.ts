import type { Hex } from 'viem'
import { wireToState } from '../channel/wire.ts'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'
import { decideAccept } from './decideAccept.ts'
import { finishOffered } from './finishOwn.ts'
import { indexOf, lower, offer, type ChannelMachine, type Msg } from './machine.ts'
import { recovers } from './messageChecks.ts'
import type { PartyContext } from './partyContext.ts'

/**
 * A peer's `accept` of this party's proposal: counted for the proposal in flight (its update
 * finishes once every other participant accepted), or, late, for an unsettled own proposal,
 * which is finished here once every peer signed it.
 *
 * @example
 * ```ts
 * await onAccept(ctx, ch, m)
 * ```
 */
export async function onAccept(ctx: PartyContext, ch: ChannelMachine, m: Msg<'accept'>): Promise<void> {
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
  if (d.type === 'drop') return ctx.io.drop(d.reason, d.message)
  if (d.type === 'offer' && unsettled !== undefined) {
    // A late accept of an own proposal whose update ended: finish it once every peer signed.
    const state = wireToState(unsettled.msg.state)
    const sigs = offer(ch, state, m.digest, m.from, canonicalSignature(m.sig) as Hex)
    if (sigs !== undefined) await finishOffered(ctx, ch, state, m.digest, sigs)
    return
  }
  if (d.type !== 'take' || p === undefined) return
  p.accepts.set(lower(m.from), canonicalSignature(m.sig) as Hex)
  if (p.accepts.size === ch.params.participants.length - 1) p.done('complete')
}
