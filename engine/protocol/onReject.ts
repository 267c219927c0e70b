import type { Hex } from 'viem'
import { decideReject } from './decideReject.ts'
import { decided, type Effect, type Handled, type Resolution } from './effects.ts'
import { finishOffered } from './finishOwn.ts'
import { isPeer, lower, offer, selfOf, withdraw, type ChannelMachine, type Msg } from './machine.ts'
import { commitOf, readShown, recovers } from './messageChecks.ts'
import { hashReject } from './messageDigests.ts'

/**
 * A peer's signed `reject` of this party's proposal (in flight, or unsettled and sent again after
 * a crossing): by {@link decideReject}, the update fails (`peer-rejected`), lost, is retried on
 * the latest state sent to the refuser, waits for redelivery (`store-error`), or finishes the own
 * earlier proposal the refuser shows it signed.
 *
 * @example
 * ```ts
 * const d = onReject(machine, m, {})
 * ```
 */
export function onReject(ch: ChannelMachine, m: Msg<'reject'>, _f: object): Handled<object> {
  const version = BigInt(m.version)
  const reason = String(m.reason)
  const message = String(m.message)
  const self = selfOf(ch)
  const p = ch.pending !== undefined && lower(ch.pending.digest) === lower(m.digest) ? ch.pending : undefined
  const unsettled = p === undefined ? ch.own.get(lower(m.digest)) : undefined
  const about =
    p !== undefined
      ? { version: p.state.version, digest: p.digest }
      : unsettled !== undefined
        ? { version: unsettled.version, digest: m.digest }
        : undefined
  const shown =
    m.signed !== undefined && about !== undefined ? readShown(ch, self, m.signed, m.from) : undefined
  const facts = {
    version,
    digest: m.digest,
    reason,
    pending: about,
    fromIsPeer: isPeer(ch, m.from),
    ...(shown === undefined
      ? {}
      : {
          signed: {
            version: shown.state.version,
            digest: shown.digest,
            refuserSigned: shown.senderSigned,
            ownProposal: shown.ownProposal,
          },
        }),
  }
  let d = decideReject(facts)
  if (d.type === 'need') {
    const rd = hashReject(ch.params, { channelId: ch.id, version, stateHash: m.digest, reason, message })
    d = decideReject({ ...facts, signatureValid: recovers(rd, m.sig, m.from) })
  }
  if (d.type === 'drop') return decided(ch, [{ kind: 'drop', reason: d.reason, message: d.message }])
  if (d.type === 'ignore' || about === undefined) return decided(ch)
  const effects: Effect[] = [
    {
      kind: 'emit',
      event: { type: 'peer-refused', channelId: ch.id, version, from: m.from, reason, message },
    },
  ]
  // The refuser recorded nothing and sees the proposal again when its transport redelivers it.
  if (d.type === 'wait') return decided(ch, effects)
  const sendLatest = (): Effect[] =>
    ch.latest === undefined ? [] : [{ kind: 'send', to: m.from, message: commitOf(ch, self, ch.latest) }]
  if (d.type === 'finish') {
    // The refuser signed this party's own earlier proposal; once every other participant has, finish it.
    const s = shown as NonNullable<typeof shown>
    const o = offer(ch, s.state, s.digest, m.from, s.sig as Hex)
    if (o.sigs === undefined) return decided(o.machine, effects)
    const f = finishOffered(o.machine, s.state, s.digest, o.sigs)
    return decided(f.machine, [...effects, ...f.effects])
  }
  if (p === undefined) {
    // An unsettled proposal: a verdict on it withdraws it, so that it stops counting.
    if (d.type === 'resend') return decided(ch, [...effects, ...sendLatest()])
    return decided(withdraw(ch, m.digest, version), effects)
  }
  const verdict = (v: Resolution): Effect => ({ kind: 'resolve', id: p.id, value: v })
  if (d.type === 'lost')
    return decided(ch, [
      ...effects,
      ...(reason === 'conflicting-signature' ? [{ kind: 'askSync' as const, version }] : []),
      verdict({ verdict: 'lost' }),
    ])
  if (d.type === 'resend') return decided(ch, [...effects, ...sendLatest(), verdict({ verdict: 'retry' })])
  return decided(ch, [
    ...effects,
    verdict({ verdict: { ok: false, reason: 'peer-rejected', from: m.from, peerReason: reason, message } }),
  ])
}
