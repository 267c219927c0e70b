import type { Address, Hex } from 'viem'
import type { BenchContext } from '../apps/types.ts'
import { fixedEnv, testAddresses } from '../test/support/channel.ts'
import { appCodeOf, benchChannel } from './benchChannel.ts'
import { loopApp } from './loopApp.ts'

/** The bench's chain context: the test chain id, its fixed block, a third address. */
export const LOOP_CTX: BenchContext = { chainId: 31337n, env: fixedEnv, third: testAddresses[2] as Address }

/**
 * The loop app's channel number `nonce` between the two test parties, and its loop's actions
 * encoded. Deterministic: two threads that ask for the same nonce build the same channel.
 */
export async function loopChannel(nonce: bigint) {
  const { app, bench, key } = await loopApp()
  const ch = benchChannel(
    app,
    bench,
    LOOP_CTX,
    [testAddresses[0] as Address, testAddresses[1] as Address],
    nonce,
  )
  const base = {
    base: ch.initial,
    channelId: ch.channelId,
    inputs: { answers: () => [], readings: () => [] },
  }
  const actions: Hex[] = bench.loop(LOOP_CTX).map((a) => app.encodeAction(a.action, a.args, base))
  return { app, key, ch, actions, code: appCodeOf(app) }
}
