import type { Hex } from 'viem'
import { ChanvmError } from '../errors.ts'
import type { Executor } from './createExecutor.ts'
import { lower, type ChannelMachine } from './machine.ts'
import type { AppCode, PartyOptions } from './types.ts'

/**
 * What every handler of a party reads: its channel machines, its options and the executor that
 * carries out what the handlers decide (the only holder of the signer, the store and the
 * transport).
 */
export type PartyContext = {
  readonly io: Executor
  readonly options: PartyOptions
  readonly channels: Map<string, ChannelMachine>
  /** The apps this party runs, by lower-case code hash. */
  readonly apps: Map<string, AppCode>
  /** How long a proposer waits for every other participant (`responseTimeoutMs`). */
  readonly timeoutMs: number
  readonly maxRetries: number
  closed: boolean
}

/**
 * The channel machine of `channelId`; throws `CHANNEL_NOT_FOUND` when this party does not hold it.
 *
 * @example
 * ```ts
 * const ch = channelOf(ctx, channelId)
 * ```
 */
export function channelOf(ctx: PartyContext, channelId: Hex): ChannelMachine {
  const ch = ctx.channels.get(lower(channelId))
  if (ch === undefined)
    throw new ChanvmError('CHANNEL_NOT_FOUND', 'this party does not hold the channel', { channelId })
  return ch
}
