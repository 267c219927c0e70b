import type { AdoptResult, FundingResult } from './types.ts'
import type { Handler } from './effects.ts'
import type { ChannelMachine } from './machine.ts'
import type { PartyContext } from './partyContext.ts'

/** The results of the local actions, by the key their `resolve` effect hands them under. */
type LocalResults = { funding: FundingResult; adoption: AdoptResult }

let nextId = 0

/**
 * Runs a local action's handler (`onFunding`, `onForcedChain`) on the channel's queue through the
 * executor, and returns the result the handler hands over in a `resolve` effect under the
 * action's id, once what was written before it is durable. A typed error the handler throws, or
 * a store error, rejects.
 *
 * @example
 * ```ts
 * const r = await runLocal(ctx, ch, 'funding', onFunding, { deposited })
 * ```
 */
export async function runLocal<K extends keyof LocalResults, I, F extends object>(
  ctx: PartyContext,
  ch: ChannelMachine,
  key: K,
  handler: Handler<I & { id: string }, F>,
  input: I,
): Promise<LocalResults[K]> {
  const { io } = ctx
  const id = `${ch.key}:${key}#${++nextId}`
  const ended = io.rt.expect(id, 'local')
  try {
    await io.rt.serial(ch, () => io.handle(ch, handler, { ...input, id }))
    // The resolution waits, like all that is seen outside the party, until the co-signed states
    // written before it are durable; if their sync failed it never comes, and this is the error.
    await io.rt.durableOf(ch)
    const r = await Promise.race([ended, Promise.resolve(undefined)])
    if (r === undefined || !(key in r)) throw new Error(`the ${key} ended without a result`)
    return (r as Record<K, LocalResults[K]>)[key]
  } finally {
    io.rt.forget(id)
  }
}
