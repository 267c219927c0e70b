import { paramsToWire, stateToWire } from '../channel/wire.ts'
import { andThen, decided, type Effect, type SignOutcome, type Step } from './effects.ts'
import { lower, others, selfOf, takeLatest, withdraw, type ChannelMachine } from './machine.ts'
import { commitOf } from './messageChecks.ts'
import { completeOpen } from './onOpen.ts'

/**
 * What follows a `recordAndSign` once the executor carried it out: the signature is durable, or
 * the store refused it (another digest is recorded at that version). Pure. The executor hands the
 * signature over only after its record, so every message that carries it is built here, after.
 *
 * @example
 * ```ts
 * const s = onSigned(ch, effect, { ok: true, sig })
 * ```
 */
export function onSigned(
  ch: ChannelMachine,
  effect: Extract<Effect, { kind: 'recordAndSign' }>,
  r: SignOutcome,
): Step {
  const { record, then } = effect
  const self = selfOf(ch)
  if (!r.ok) {
    const message = `this party already signed a different state at version ${record.version}`
    if (then.for === 'accept')
      return decided(ch, [
        {
          kind: 'refuse',
          to: then.to,
          version: record.version,
          digest: record.digest,
          reason: 'conflicting-signature',
          message,
          show: r.existing,
        },
      ])
    if (then.for === 'open')
      return decided({ ...ch, opening: undefined }, [
        { kind: 'resolve', id: record.digest, value: { openFailed: message } },
      ])
    const result = { ok: false as const, reason: 'conflict' as const, message }
    return decided(
      withdraw(ch, record.digest, record.version),
      then.id === undefined ? [] : [{ kind: 'resolve', id: then.id, value: { result } }],
    )
  }
  // Having signed this state at its version, this party can never finish another one there.
  const own = new Map(
    [...ch.own].filter(([k, o]) => o.version !== record.version || k === lower(record.digest)),
  )
  const signedLast = { digest: lower(record.digest), sig: lower(r.sig) }
  const s = decided({ ...ch, own, signedLast }, [
    {
      kind: 'emit',
      event: { type: 'signed', channelId: ch.id, version: record.version, digest: record.digest },
    },
  ])
  if (then.for === 'accept')
    return andThen(s, (m) =>
      decided(m, [
        {
          kind: 'send',
          to: then.to,
          message: {
            type: 'accept',
            channelId: ch.id,
            from: self,
            version: record.version.toString(),
            digest: record.digest,
            sig: r.sig,
          },
        },
        { kind: 'schedule', timer: 'sync', version: record.version },
      ]),
    )
  if (then.for === 'open') {
    const o = ch.opening
    if (o === undefined || lower(o.digest) !== lower(record.digest)) return s
    const message = {
      type: 'open' as const,
      channelId: ch.id,
      from: self,
      params: paramsToWire(ch.params),
      state: stateToWire(record.state),
      sig: r.sig,
    }
    const withMine = andThen(s, (m) =>
      decided(
        { ...m, opening: { ...o, sigs: new Map(o.sigs).set(lower(self), r.sig) } },
        others(m).map((to): Effect => ({ kind: 'send', to, message })),
      ),
    )
    return andThen(withMine, completeOpen)
  }
  const signed = r.signed
  if (signed === undefined) return s
  const committed = andThen(
    andThen(s, (m) => takeLatest(m, signed)),
    (m) =>
      decided(
        m,
        others(m).map((to): Effect => ({ kind: 'send', to, message: commitOf(m, self, signed) })),
      ),
  )
  if (then.id === undefined) return committed
  const result =
    then.ownDigest === undefined || lower(then.ownDigest) === lower(record.digest)
      ? { ok: true as const, signed, gasUsed: then.gasUsed ?? 0n }
      : {
          ok: false as const,
          reason: 'conflict' as const,
          message: `the others had signed this party's earlier proposal at version ${record.version}; it is co-signed now, the action was not applied`,
          finished: signed,
        }
  return andThen(committed, (m) =>
    decided(m, [{ kind: 'resolve', id: then.id as string, value: { result } }]),
  )
}
