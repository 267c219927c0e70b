import type { Hex } from 'viem'
import type { Env, SignedState } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import { baseOf } from './machine.ts'
import { channelOf, type PartyContext } from './partyContext.ts'
import { describe, isStoreError } from './partyErrors.ts'
import { proposeStep } from './proposeStep.ts'
import type { UpdateResult } from './types.ts'

/**
 * `Party.update`: the mover's step ({@link proposeStep}), tried again on the newer state when a
 * peer's proposal at the same version won or the refuser was behind, at most `maxRetries` times.
 * A peer that refuses the env (`env`: outside its tolerance of its own view of the chain) is asked
 * once more with the head read fresh (`freshClock`), when the env came from this party's clock: a
 * head held in memory lags the chain by up to a polling interval, more than the tolerance's
 * blocks on a chain that mines fast. A second such refusal is the result; so is the first on a
 * channel of more than two participants, where another may have accepted the refused proposal.
 *
 * @example
 * ```ts
 * const r = await updateChannel(ctx, channelId, action, {})
 * ```
 */
export async function updateChannel(
  ctx: PartyContext,
  channelId: Hex,
  action: Hex,
  opts: { env?: Env },
): Promise<UpdateResult> {
  const ch = channelOf(ctx, channelId)
  // Once, for an env from this party's clock. With more participants another may have accepted
  // the refused proposal: it would refuse a second state at the version, so the refusal stands.
  let mayRefresh =
    opts.env === undefined && ctx.options.freshClock !== undefined && ch.params.participants.length === 2
  let fresh: Env | undefined // the head read fresh, for the one proposal after an env refusal
  for (let attempt = 0; ; attempt++) {
    const before = baseOf(ch)?.state.version ?? -1n
    const env = fresh ?? opts.env
    fresh = undefined
    const r = await proposeStep(ctx, ch, action, env).catch((e: unknown) => {
      if (isStoreError(e)) ctx.io.emit({ type: 'store-error', channelId: ch.id, message: describe(e) })
      throw e
    })
    if (r !== 'lost' && r !== 'retry') {
      if (!mayRefresh || r.ok || r.reason !== 'peer-rejected' || r.peerReason !== 'env') return r
      mayRefresh = false
      fresh = await ctx.options.freshClock?.().catch(() => undefined)
      if (fresh === undefined) return r // the chain cannot be read: the peer's refusal stands
      attempt-- // not a lost race: it does not count against maxRetries
      continue
    }
    if (attempt >= ctx.maxRetries) {
      return {
        ok: false,
        reason: 'conflict',
        message: `no co-signed version after ${attempt + 1} tries: a peer's proposal at the same version won, or this party signed a peer's state whose commit never came`,
      }
    }
    // Wait for the winner's state, then try again on top of it (at once when a peer was behind).
    if (r === 'lost') await waitForVersion(ctx, channelId, before + 1n, ctx.timeoutMs).catch(() => undefined)
  }
}

/**
 * `Party.waitForVersion`: resolves with the latest co-signed state once its version is at least
 * `version`; rejects with `PEER_TIMEOUT` after `ms`, and with the store's error once a co-signed
 * state's sync failed.
 *
 * @example
 * ```ts
 * const s = await waitForVersion(ctx, channelId, 3n, 5_000)
 * ```
 */
export function waitForVersion(
  ctx: PartyContext,
  channelId: Hex,
  version: bigint,
  ms: number,
): Promise<SignedState> {
  const ch = channelOf(ctx, channelId)
  return new Promise((resolve, reject) => {
    const check = () => {
      const latest = ctx.io.rt.shownLatest(ch) // durable: it is seen outside the party
      if (latest !== undefined && latest.state.version >= version) {
        stop()
        clearTimeout(timer)
        resolve(latest)
      }
    }
    const unwatch = ctx.io.rt.watchLatest(ch, check)
    // After a failed sync no newer state is ever shown: the store's error, not a time-out.
    const unfail = ctx.io.rt.onFailure(ch, (e) => {
      stop()
      clearTimeout(timer)
      reject(e)
    })
    const stop = () => {
      unwatch()
      unfail()
    }
    const timer = setTimeout(() => {
      stop()
      reject(
        new ChanvmError('PEER_TIMEOUT', `version ${version} was not co-signed within ${ms} ms`, {
          channelId,
        }),
      )
    }, ms)
    check()
  })
}
