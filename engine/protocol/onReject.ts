import type { Hex } from 'viem'
import { decideReject } from './decideReject.ts'
import { finishOffered } from './finishOwn.ts'
import { isPeer, lower, offer, withdraw, type ChannelMachine, type Msg } from './machine.ts'
import { readShown, recovers } from './messageChecks.ts'
import { hashReject } from './messageDigests.ts'
import type { PartyContext } from './partyContext.ts'

/**
 * A peer's signed `reject` of this party's proposal (in flight, or unsettled and sent again after
 * a crossing): by {@link decideReject}, the update fails (`peer-rejected`), lost, is retried on
 * the latest state sent to the refuser, waits for redelivery (`store-error`), or finishes the own
 * earlier proposal the refuser shows it signed.
 *
 * @example
 * ```ts
 * await onReject(ctx, ch, m)
 * ```
 */
export async function onReject(ctx: PartyContext, ch: ChannelMachine, m: Msg<'reject'>): Promise<void> {
  const { io } = ctx
  const version = BigInt(m.version)
  const reason = String(m.reason)
  const message = String(m.message)
  const inFlight =
    ch.pending !== undefined && lower(ch.pending.digest) === lower(m.digest) ? ch.pending : undefined
  const unsettled = inFlight === undefined ? ch.own.get(lower(m.digest)) : undefined
  const p = inFlight
  const about =
    inFlight !== undefined
      ? { version: inFlight.state.version, digest: inFlight.digest }
      : unsettled !== undefined
        ? { version: unsettled.version, digest: m.digest }
        : undefined
  const shown =
    m.signed !== undefined && about !== undefined ? readShown(ch, io.address, m.signed, m.from) : undefined
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
  if (d.type === 'drop') return io.drop(d.reason, d.message)
  if (d.type === 'ignore' || about === undefined) return
  io.emit({ type: 'peer-refused', channelId: ch.id, version, from: m.from, reason, message })
  // The refuser recorded nothing and sees the proposal again when its transport redelivers it.
  if (d.type === 'wait') return
  if (p === undefined) {
    // An unsettled proposal: a verdict on it withdraws it, so that it stops counting.
    if (d.type === 'lost' || d.type === 'fail') return withdraw(ch, m.digest, version)
    if (d.type === 'resend') {
      if (ch.latest !== undefined) io.sendCommit(ch, m.from, ch.latest)
      return
    }
    const s = shown as NonNullable<typeof shown>
    const sigs = offer(ch, s.state, s.digest, m.from, s.sig as Hex)
    if (sigs !== undefined) await finishOffered(ctx, ch, s.state, s.digest, sigs)
    return
  }
  if (d.type === 'lost') {
    if (reason === 'conflicting-signature') void io.askSync(ch, version)
    return p.done('lost')
  }
  if (d.type === 'resend') {
    if (ch.latest !== undefined) io.sendCommit(ch, m.from, ch.latest)
    return p.done('retry')
  }
  if (d.type === 'fail')
    return p.done({ ok: false, reason: 'peer-rejected', from: m.from, peerReason: reason, message })
  // finish: the refuser signed this party's own earlier proposal; once every other participant has, finish it.
  const s = shown as NonNullable<typeof shown>
  const sigs = offer(ch, s.state, s.digest, m.from, s.sig as Hex)
  if (sigs !== undefined) p.done({ finish: s.state, digest: s.digest, sigs })
}
