import { decided, need, type Handled } from './effects.ts'
import type { ChannelMachine } from './machine.ts'

/** What {@link onNewChannel} needs from the store: the deposits recorded for the channel, or null. */
export type NewChannelFacts = { funding?: readonly bigint[] | null }

/**
 * A channel this party opens for the first time: its record (id, params, this party's index) is
 * written (`save`) before the machine is held, so a restarted party loads it. It counts as funded
 * when the party does not require funding, or when the store holds its deposits already.
 *
 * @example
 * ```ts
 * const d = onNewChannel(createChannelMachine({ ..., funded: false }), { requireFunding: true }, { funding: null })
 * ```
 */
export function onNewChannel(
  ch: ChannelMachine,
  input: { requireFunding: boolean },
  f: NewChannelFacts,
): Handled<NewChannelFacts> {
  if (input.requireFunding && f.funding === undefined) return need('funding', { kind: 'funding' })
  const funded = !input.requireFunding || (f.funding !== null && f.funding !== undefined)
  const record = { channelId: ch.id, params: ch.params, myIndex: ch.myIndex }
  return decided({ ...ch, funded }, [{ kind: 'save', fact: { channel: record } }])
}
