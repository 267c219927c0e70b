import type { Hex } from 'viem'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'
import { decideOpen } from './decideOpen.ts'
import { isPeer, lower, others, type ChannelMachine, type Msg } from './machine.ts'
import { recovers } from './messageChecks.ts'
import type { PartyContext } from './partyContext.ts'

/**
 * A peer's `open` (handed over once this party opens the channel too): its signature on the
 * initial state is counted; an open of a channel co-signed already is answered with the latest
 * state.
 *
 * @example
 * ```ts
 * await onOpen(ctx, ch, m)
 * ```
 */
export async function onOpen(ctx: PartyContext, ch: ChannelMachine, m: Msg<'open'>): Promise<void> {
  const o = ch.opening
  const facts = {
    opening: o === undefined ? undefined : { digest: o.digest },
    latestVersion: ch.latest?.state.version,
    fromIsPeer: isPeer(ch, m.from),
  }
  let d = decideOpen(facts)
  if (d.type === 'need' && o !== undefined)
    d = decideOpen({ ...facts, signatureValid: recovers(o.digest, m.sig, m.from) })
  if (d.type === 'hold') return ctx.io.drop('not-opening', 'an open for a channel this party failed to open')
  if (d.type === 'drop') return ctx.io.drop(d.reason, d.message)
  if (d.type === 'answer-latest' && ch.latest !== undefined) return ctx.io.sendCommit(ch, m.from, ch.latest)
  if (d.type !== 'take' || o === undefined) return
  o.sigs.set(lower(m.from), canonicalSignature(m.sig) as Hex)
  await completeOpen(ctx, ch)
}

/**
 * Once every participant signed the initial state: stores it co-signed and sends it to the
 * others (a peer may have handed its open to this party and lost this party's own).
 *
 * @example
 * ```ts
 * await completeOpen(ctx, ch)
 * ```
 */
export async function completeOpen(ctx: PartyContext, ch: ChannelMachine): Promise<void> {
  const o = ch.opening
  if (o === undefined || o.sigs.size !== ch.params.participants.length) return
  const signed = {
    state: o.state,
    signatures: ch.params.participants.map((a) => o.sigs.get(lower(a)) as Hex),
  }
  await ctx.io.setLatest(ch, signed, true)
  for (const to of others(ch)) ctx.io.sendCommit(ch, to, signed)
}
