import type { SignedState } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import { decideFunding } from './decideFunding.ts'
import { decided, need, type Handled } from './effects.ts'
import type { ChannelMachine } from './machine.ts'

/** `confirmFunding`'s input: the deposits seen on chain, one per participant; `id` names the waiting caller. */
export type Funding = { id: string; deposited: readonly bigint[] }

/** What {@link onFunding} needs from the store: the co-signed initial state, when the machine holds a later one. */
export type FundingInputFacts = { initial?: SignedState | null }

/**
 * This party saw the channel's deposits on chain: by {@link decideFunding}, the channel is funded
 * once each participant deposited at least its initial balance; then the deposits are recorded
 * (`save`) before the machine counts as funded. Short deposits change nothing; the result names
 * who is short. A deposit list of the wrong length, or a channel whose initial state is not
 * co-signed, is a typed error.
 *
 * @example
 * ```ts
 * const d = onFunding(machine, { id, deposited: [600n, 400n] }, {})
 * ```
 */
export function onFunding(
  ch: ChannelMachine,
  input: Funding,
  f: FundingInputFacts,
): Handled<FundingInputFacts> {
  const { id, deposited } = input
  if (deposited.length !== ch.params.participants.length)
    throw new ChanvmError('INVALID_ARGUMENT', 'one deposit per participant', { channelId: ch.id })
  let initial = ch.latest?.state.version === 0n ? ch.latest : undefined
  if (initial === undefined) {
    if (f.initial === undefined) return need('initial', { kind: 'coSignedAt', version: 0n })
    initial = f.initial ?? undefined
  }
  if (initial === undefined)
    throw new ChanvmError('INVALID_ARGUMENT', 'the channel is not open yet', { channelId: ch.id })
  const missing = decideFunding(initial.state.balances, deposited)
  if (missing.length > 0) {
    const message = `participants ${missing.join(', ')} have not deposited their initial balance`
    return decided(ch, [
      { kind: 'resolve', id, value: { funding: { ok: false, reason: 'underfunded', missing, message } } },
    ])
  }
  return decided({ ...ch, funded: true }, [
    { kind: 'save', fact: { funding: deposited } },
    { kind: 'emit', event: { type: 'funded', channelId: ch.id, deposited } },
    { kind: 'resolve', id, value: { funding: { ok: true } } },
  ])
}
