import type { Abi, Address, Hex } from 'viem'
import type { AppBenchInput, AppModule, BenchContext } from '../apps/types.ts'
import { getChannelId } from '../engine/channel/getChannelId.ts'
import type { ChannelParams, State } from '../engine/channel/types.ts'
import type { AppCode } from '../engine/protocol/types.ts'

const ADJUDICATOR: Address = '0x000000000000000000000000000000000000adad'
const APP: Address = '0x00000000000000000000000000000000000a4400'

/** The code a party runs for `app`. */
export function appCodeOf(app: AppModule): AppCode & { abi: Abi; codeHash: Hex } {
  return { abi: app.artifact.abi, code: app.artifact.deployedBytecode, codeHash: app.artifact.codeHash }
}

/**
 * A channel of `app` between `participants` with no chain behind it (fixed adjudicator and app
 * addresses), opened with the app's benchmark terms and balances.
 *
 * @example
 * ```ts
 * const ch = benchChannel(app, bench, ctx, [alice, bob], 1n)
 * await Promise.all([a.open(ch.params, ch.initial), b.open(ch.params, ch.initial)])
 * ```
 */
export function benchChannel(
  app: AppModule,
  bench: AppBenchInput,
  ctx: BenchContext,
  participants: readonly [Address, Address],
  nonce: bigint,
): { params: ChannelParams; channelId: Hex; initial: State } {
  const params: ChannelParams = {
    chainId: ctx.chainId,
    adjudicator: ADJUDICATOR,
    participants: [...participants],
    app: APP,
    appCodeHash: app.artifact.codeHash,
    challengeDuration: 60n,
    nonce,
  }
  const channelId = getChannelId(params)
  const { balances, terms } = bench.open(ctx)
  return {
    params,
    channelId,
    initial: {
      channelId,
      version: 0n,
      balances: [...balances],
      appData: app.initialAppData(terms),
      isFinal: false,
    },
  }
}
