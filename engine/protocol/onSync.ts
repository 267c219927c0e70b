import type { Hex } from 'viem'
import { decideSync } from './decideSync.ts'
import { decided, type Handled } from './effects.ts'
import { finishOffered } from './finishOwn.ts'
import { isPeer, offer, selfOf, type ChannelMachine, type Msg } from './machine.ts'
import { commitOf, readShown } from './messageChecks.ts'

/**
 * A peer's `sync` request: answered with the latest co-signed state; when the peer shows it
 * signed this party's own proposal at that version, that proposal is finished once every other
 * participant has.
 *
 * @example
 * ```ts
 * const d = onSync(machine, m, {})
 * ```
 */
export function onSync(ch: ChannelMachine, m: Msg<'sync'>, _f: object): Handled<object> {
  const version = BigInt(m.version)
  const fromIsPeer = isPeer(ch, m.from)
  const self = selfOf(ch)
  const shown = m.signed !== undefined && fromIsPeer ? readShown(ch, self, m.signed, m.from) : undefined
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
  if (d.type === 'answer' && ch.latest !== undefined)
    return decided(ch, [
      {
        kind: 'emit',
        event: {
          type: 'sync',
          channelId: ch.id,
          version: ch.latest.state.version,
          direction: 'answered',
          peer: m.from,
        },
      },
      { kind: 'send', to: m.from, message: commitOf(ch, self, ch.latest) },
    ])
  if (d.type !== 'finish' || shown === undefined) return decided(ch)
  // The sender signed this party's own proposal at that version (its accept was lost, or this
  // party gave up waiting): once every other participant has, finish it.
  const o = offer(ch, shown.state, shown.digest, m.from, shown.sig as Hex)
  return o.sigs === undefined
    ? decided(o.machine)
    : finishOffered(o.machine, shown.state, shown.digest, o.sigs)
}
