import type { Hex } from 'viem'
import type { State } from '../channel/types.ts'
import type { SignatureRecord } from '../store/types.ts'
import { decideCommit } from './decideCommit.ts'
import { andThen, decided, need, type Handled } from './effects.ts'
import { lower, takeLatest, type ChannelMachine, type Msg } from './machine.ts'
import { digestOf, stateOf, verifyAll } from './messageChecks.ts'

/** What {@link onCommit} needs from the store: this party's record at the commit's version, when the commit carries no state. */
export type CommitInputFacts = { recorded?: SignatureRecord | null }

/**
 * A `commit`: a state every participant signed. Stored (`persist`) and taken as the latest when
 * it is newer and every signature verifies; the state comes with it, or is the one this party
 * signed at that version.
 *
 * @example
 * ```ts
 * const d = onCommit(machine, m, {}) // { machine, effects: [{ kind: 'persist', ... }, ...] }
 * ```
 */
export function onCommit(
  ch: ChannelMachine,
  m: Msg<'commit'>,
  f: CommitInputFacts,
): Handled<CommitInputFacts> {
  const version = BigInt(m.version)
  const facts = { version, latestVersion: ch.latest?.state.version }
  if (decideCommit({ ...facts, stateKnown: true }).type === 'ignore') return decided(ch)
  let state: State | undefined
  if (m.state !== undefined) state = stateOf(m.state)
  else {
    if (f.recorded === undefined) return need('recorded', { kind: 'signedAt', version })
    if (f.recorded !== null && lower(f.recorded.digest) === lower(m.digest)) state = f.recorded.state
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
  if (d.type === 'drop') return decided(ch, [{ kind: 'drop', reason: d.reason, message: d.message }])
  if (d.type !== 'store' || state === undefined || sigs === undefined) return decided(ch)
  const signed = { state, signatures: sigs }
  return andThen(decided(ch, [{ kind: 'persist', signed }]), (c) => takeLatest(c, signed))
}
