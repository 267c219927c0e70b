import type { Hex } from 'viem'
import type { State } from '../channel/types.ts'
import { others, withdraw, type ChannelMachine } from './machine.ts'
import type { PartyContext } from './partyContext.ts'

/**
 * Signs last on this party's own proposal every other participant signed: records its signature
 * with the co-signed state (one write), and only then commits it to the others.
 *
 * @example
 * ```ts
 * const r = await finishOwn(ctx, ch, pending.state, pending.digest, pending.accepts)
 * ```
 */
export async function finishOwn(
  ctx: PartyContext,
  ch: ChannelMachine,
  state: State,
  digest: Hex,
  sigs: Map<string, Hex>,
) {
  const r = await ctx.io.recordThenSign(ch, { channelId: ch.id, version: state.version, digest, state }, sigs)
  if (r.ok && r.signed !== undefined) for (const to of others(ch)) ctx.io.sendCommit(ch, to, r.signed)
  if (!r.ok) withdraw(ch, digest, state.version)
  return r
}

/**
 * Finishes an own earlier proposal every other participant signed. With an update in flight at
 * that version, the update does it and reports it (`conflict` with `finished`, or its own
 * result): the action of that update must not be applied again on top.
 *
 * @example
 * ```ts
 * if (sigs !== undefined) await finishOffered(ctx, ch, state, digest, sigs)
 * ```
 */
export async function finishOffered(
  ctx: PartyContext,
  ch: ChannelMachine,
  state: State,
  digest: Hex,
  sigs: Map<string, Hex>,
): Promise<void> {
  const p = ch.pending
  if (p !== undefined && p.state.version === state.version) return p.done({ finish: state, digest, sigs })
  await finishOwn(ctx, ch, state, digest, sigs)
}
