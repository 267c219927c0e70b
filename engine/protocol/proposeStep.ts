import type { Hex } from 'viem'
import type { Env } from '../channel/types.ts'
import type { Resolution, StepAttempt } from './effects.ts'
import type { ChannelMachine } from './machine.ts'
import { onMove, onVerdict } from './onMove.ts'
import type { PartyContext } from './partyContext.ts'
import { disputedError } from './partyErrors.ts'

export type { StepAttempt } from './effects.ts'

let nextId = 0

/**
 * The mover's own step, once: (1) on the channel's queue, {@link onMove} runs `action` on the
 * base, signs the proposal and sends it to the others; (2) off the queue, the update waits for a
 * `resolve` effect with the verdict under its id (the `accept` and `reject` handlers decide it),
 * or a time limit; (3) on the queue again, {@link onVerdict} turns the verdict into the result,
 * signing last (record first) and committing when every other participant signed. The result,
 * too, comes in a `resolve` effect: the machine holds no callback.
 *
 * @example
 * ```ts
 * const r = await proposeStep(ctx, ch, action, undefined)
 * ```
 */
export async function proposeStep(
  ctx: PartyContext,
  ch: ChannelMachine,
  action: Hex,
  env: Env | undefined,
): Promise<Exclude<StepAttempt, 'disputed'>> {
  const { io } = ctx
  const id = `${ch.key}#${++nextId}`
  const verdict = io.rt.expect(id, 'verdict')
  const result = io.rt.expect(id, 'result')
  try {
    const pending = await io.rt.serial(ch, async () => {
      await io.handle(ch, onMove, { id, action, env })
      return ch.pending?.id === id ? ch.pending : undefined
    })
    // No proposal went out: the result is resolved already.
    if (pending !== undefined) {
      let timer: NodeJS.Timeout | undefined
      const outcome = await Promise.race([
        verdict.then((v) => ('verdict' in v ? v.verdict : ('timeout' as const))),
        new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ctx.timeoutMs))),
      ])
      clearTimeout(timer)
      await io.rt.serial(ch, () => io.handle(ch, onVerdict, { pending, outcome }))
    }
    // The result is handed over once what was written before it is durable (or a failed sync is the error).
    await io.rt.durableOf(ch)
    const r = await Promise.race([result, Promise.resolve<Resolution | undefined>(undefined)])
    if (r === undefined || !('result' in r)) throw new Error('the update ended without a result')
    if (r.result === 'disputed') throw disputedError(ch)
    return r.result
  } finally {
    io.rt.forget(id)
  }
}
