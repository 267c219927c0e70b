import type { Hex } from 'viem'
import type { State } from '../channel/types.ts'
import { decided, type AfterSign, type Step } from './effects.ts'
import type { ChannelMachine } from './machine.ts'

/**
 * This party signs last on its own proposal that every other participant signed: one
 * `recordAndSign` that records its signature with the co-signed state (one write); `onSigned`
 * then commits it to the others.
 *
 * @example
 * ```ts
 * const s = finishOwn(ch, state, digest, sigs, { for: 'finish' })
 * ```
 */
export function finishOwn(
  ch: ChannelMachine,
  state: State,
  digest: Hex,
  sigs: Map<string, Hex>,
  then: Extract<AfterSign, { for: 'finish' }>,
): Step {
  return decided(ch, [
    {
      kind: 'recordAndSign',
      record: { channelId: ch.id, version: state.version, digest, state },
      peerSigs: sigs,
      then,
    },
  ])
}

/**
 * Finishes an own earlier proposal every other participant signed. With an update in flight at
 * that version, the update does it (its verdict is `finish`) and reports it (`conflict` with
 * `finished`, or its own result): the action of that update must not be applied again on top.
 *
 * @example
 * ```ts
 * if (sigs !== undefined) return finishOffered(machine, state, digest, sigs)
 * ```
 */
export function finishOffered(ch: ChannelMachine, state: State, digest: Hex, sigs: Map<string, Hex>): Step {
  const p = ch.pending
  if (p !== undefined && p.state.version === state.version)
    return decided(ch, [{ kind: 'resolve', id: p.id, value: { verdict: { finish: state, digest, sigs } } }])
  return finishOwn(ch, state, digest, sigs, { for: 'finish' })
}
