import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import type { AppBenchInput } from '../types.ts'
import { coldChainActions, temperatureReading } from './coldChainClient.ts'

/** A P-256 thermometer. */
const THERMOMETER: OracleKey = { curve: 'p256', privateKey: `0x${'1c'.repeat(32)}` }

/**
 * The cold-chain in `npm run bench`: one policy, one premium (not timed), then REPORT steps by the
 * owner, each carrying one in-range reading of the thermometer (the steady state of a trip).
 *
 * @example
 * ```ts
 * bench.step(0, ctx) // { by: 0, action: REPORT of reading 1 }
 * ```
 */
export const bench: AppBenchInput = {
  open: () => ({
    balances: [100n, 1_000n],
    terms: {
      device: getSignerId(THERMOMETER),
      minValue: '-25000',
      maxValue: '-15000',
      runLength: 3,
      premium: '10',
      insuredSum: '500',
      periodSeconds: '86400',
      maxPeriods: '10',
      claimWindow: '600',
    },
  }),
  setup: () => [{ by: 0, action: coldChainActions.payPremium() }],
  step: (i, ctx) => ({
    by: 0,
    action: coldChainActions.report([
      signReading({
        chainId: ctx.chainId,
        key: THERMOMETER,
        reading: temperatureReading({
          device: getSignerId(THERMOMETER),
          sequence: BigInt(i + 1),
          timestamp: ctx.env.timestamp,
          milliCelsius: -18_000n - BigInt(i % 50),
        }),
      }),
    ]),
  }),
}
