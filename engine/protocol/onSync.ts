import type { Hex } from 'viem'
import { decideSync } from './decideSync.ts'
import { finishOffered } from './finishOwn.ts'
import { isPeer, offer, type ChannelMachine, type Msg } from './machine.ts'
import { readShown } from './messageChecks.ts'
import type { PartyContext } from './partyContext.ts'

/**
 * A peer's `sync` request: answered with the latest co-signed state; when the peer shows it
 * signed this party's own proposal at that version, that proposal is finished once every other
 * participant has.
 *
 * @example
 * ```ts
 * await onSync(ctx, ch, m)
 * ```
 */
export async function onSync(ctx: PartyContext, ch: ChannelMachine, m: Msg<'sync'>): Promise<void> {
  const { io } = ctx
  const version = BigInt(m.version)
  const fromIsPeer = isPeer(ch, m.from)
  const shown = m.signed !== undefined && fromIsPeer ? readShown(ch, io.address, m.signed, m.from) : undefined
  const d = decideSync({
    version,
    fromIsPeer,
    latestVersion: ch.latest?.state.version,
    disputed: ch.disputed,
    ...(shown === undefined
      ? {}
      : {
          shown: {
            version: shown.state.version,
            senderSigned: shown.senderSigned,
            ownProposal: shown.ownProposal,
          },
        }),
  })
  if (d.type === 'answer' && ch.latest !== undefined) {
    io.emit({
      type: 'sync',
      channelId: ch.id,
      version: ch.latest.state.version,
      direction: 'answered',
      peer: m.from,
    })
    return io.sendCommit(ch, m.from, ch.latest)
  }
  if (d.type !== 'finish' || shown === undefined) return
  // The sender signed this party's own proposal at that version (its accept was lost, or this
  // party gave up waiting): once every other participant has, finish it.
  const sigs = offer(ch, shown.state, shown.digest, m.from, shown.sig as Hex)
  if (sigs !== undefined) await finishOffered(ctx, ch, shown.state, shown.digest, sigs)
}
