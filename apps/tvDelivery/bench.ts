import type { Hex } from 'viem'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import type { AppBenchInput, BenchContext } from '../types.ts'
import { deliveryAnswer, tvDeliveryActions } from './tvDeliveryClient.ts'

/** Three delivery oracles (secp256k1 and P-256); two answers make the quorum. */
const ORACLES: readonly OracleKey[] = [
  { curve: 'secp256k1', privateKey: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6' },
  { curve: 'p256', privateKey: `0x${'2d'.repeat(32)}` },
  { curve: 'secp256k1', privateKey: `0x${'4b'.repeat(32)}` },
]
const TRACKING_ID = 'BENCH-1Z999AA10123456784'

const claim = (ctx: BenchContext): Hex =>
  tvDeliveryActions.claim(
    ORACLES.slice(0, 2).map((key) =>
      signAnswer({
        chainId: ctx.chainId,
        key,
        answer: deliveryAnswer({ trackingId: TRACKING_ID, timestamp: ctx.env.timestamp - 60n }),
      }),
    ),
  )

/**
 * The tv-delivery in `npm run bench`: one purchase per channel, PAY by the buyer then CLAIM by the
 * seller with 2 of 3 oracle answers; opening a channel is not timed. Warm-up: 5 purchases.
 *
 * @example
 * ```ts
 * bench.step(1, ctx) // { by: 1, action: CLAIM }
 * ```
 */
export const bench: AppBenchInput = {
  open: (ctx) => ({
    balances: [1_000n, 0n],
    terms: {
      trackingId: TRACKING_ID,
      oracles: ORACLES.map((k) => getSignerId(k)),
      quorum: 2,
      price: '600',
      deadline: (ctx.env.blockNumber + 1_000n).toString(),
    },
  }),
  step: (i, ctx) =>
    i === 0
      ? { by: 0, action: tvDeliveryActions.pay() }
      : i === 1
        ? { by: 1, action: claim(ctx) }
        : undefined,
  warmUp: 10,
}
