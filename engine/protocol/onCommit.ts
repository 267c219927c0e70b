import type { Hex } from 'viem'
import type { State } from '../channel/types.ts'
import { wireToState } from '../channel/wire.ts'
import { decideCommit } from './decideCommit.ts'
import { lower, type ChannelMachine, type Msg } from './machine.ts'
import { digestOf, verifyAll } from './messageChecks.ts'
import type { PartyContext } from './partyContext.ts'

/**
 * A `commit`: a state every participant signed. Stored as the latest when it is newer and every
 * signature verifies (the state comes with it, or is the one this party signed at that version).
 *
 * @example
 * ```ts
 * await onCommit(ctx, ch, m)
 * ```
 */
export async function onCommit(ctx: PartyContext, ch: ChannelMachine, m: Msg<'commit'>): Promise<void> {
  const version = BigInt(m.version)
  const facts = { version, latestVersion: ch.latest?.state.version }
  if (decideCommit({ ...facts, stateKnown: true }).type === 'ignore') return
  let state: State | undefined
  if (m.state !== undefined) state = wireToState(m.state)
  else {
    const rec = await ctx.io.signedAt(ch, version)
    if (rec !== undefined && lower(rec.digest) === lower(m.digest)) state = rec.state
  }
  const known = { ...facts, stateKnown: state !== undefined }
  let d = decideCommit(known)
  let sigs: Hex[] | undefined
  if (d.type === 'need' && state !== undefined) {
    const digest = digestOf(ch, state)
    sigs =
      lower(digest) === lower(m.digest) && state.version === version && lower(state.channelId) === ch.key
        ? verifyAll(ch, digest, m.sigs)
        : undefined
    d = decideCommit({ ...known, signaturesValid: sigs !== undefined })
  }
  if (d.type === 'drop') return ctx.io.drop(d.reason, d.message)
  if (d.type !== 'store' || state === undefined || sigs === undefined) return
  await ctx.io.setLatest(ch, { state, signatures: sigs }, true)
}
