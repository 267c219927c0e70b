// The three built-in apps as subjects of `checkApp`: each one's opening and random steps, with
// the signed evidence its actions carry (an arbiter's ruling, oracles' answers, a thermometer's
// readings) built at run time from the state the step starts from.
import fc from 'fast-check'
import type { Hex } from 'viem'
import { ColdChainInsurance } from '../../contracts/generated/ColdChainInsurance.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { TvDelivery } from '../../contracts/generated/TvDelivery.ts'
import {
  coldChainActions,
  decodeColdChainData,
  initialColdChainData,
  temperatureReading,
} from '../../apps/coldChain/coldChainClient.ts'
import {
  decodeEscrowData,
  escrowActions,
  initialEscrowData,
  signRuling,
} from '../../apps/escrow/escrowClient.ts'
import {
  deliveryAnswer,
  initialTvDeliveryData,
  tvDeliveryActions,
} from '../../apps/tvDelivery/tvDeliveryClient.ts'
import type { CheckStep, CheckSubject, StepContext } from '../../engine/appcheck/types.ts'
import { addressToSignerId } from '../../oracles/message/addressToSignerId.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import type { OracleKey } from '../../oracles/message/types.ts'

const mover = fc.constantFrom(0n, 1n)
/** Mostly the participant the action is for, now and then the other one. */
const moverFor = (m: bigint) =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(m) }, { weight: 1, arbitrary: fc.constant(1n - m) })
const advance = fc.oneof(fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 21n, max: 2_000n }))
const step = (label: string, m: bigint, adv: bigint, action: (ctx: StepContext) => Hex): CheckStep => ({
  label,
  mover: m,
  advance: adv,
  action,
})
const actor = (ctx: StepContext, i: number) => {
  const a = ctx.actors[i]
  if (a === undefined) throw new Error(`no actor ${i}`)
  return a
}
/** A step that takes only a mover and an advance, weighted. */
const simple = (
  weight: number,
  label: string,
  by: bigint | undefined,
  action: (ctx: StepContext) => Hex,
) => ({
  weight,
  arbitrary: fc
    .record({ mover: by === undefined ? mover : moverFor(by), advance })
    .map((s) => step(label, s.mover, s.advance, action)),
})

/** Escrow between a payer (0) and a payee (1), with the first actor as arbiter. */
export function escrowSubject(): CheckSubject {
  return {
    name: 'Escrow',
    abi: Escrow.abi,
    bytecode: Escrow.bytecode,
    deployedBytecode: Escrow.deployedBytecode,
    opening: (ctx) => ({
      appData: initialEscrowData({ payer: 0, payee: 1, arbiter: ctx.actors[0]?.address ?? '0x' }),
      balances: [600n, 400n],
    }),
    step: fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .record({
            mover,
            advance,
            amount: fc.bigInt({ min: 0n, max: 700n }),
            wait: fc.bigInt({ min: 0n, max: 600n }),
          })
          .map((s) =>
            step(`fund(amount=${s.amount}, deadline=+${s.wait}s)`, s.mover, s.advance, (ctx) =>
              escrowActions.fund(s.amount, ctx.env.timestamp + s.wait),
            ),
          ),
      },
      simple(2, 'release()', 0n, () => escrowActions.release()),
      {
        weight: 2,
        arbitrary: fc
          .record({ mover, advance, toPayee: fc.boolean() })
          .map((s) =>
            step(`ruling(toPayee=${s.toPayee})`, s.mover, s.advance, (ctx) =>
              escrowActions.ruling(
                s.toPayee,
                signRuling(
                  ctx.params,
                  ctx.channelId,
                  decodeEscrowData(ctx.from.appData).escrowId,
                  s.toPayee,
                  actor(ctx, 0).privateKey,
                ),
              ),
            ),
          ),
      },
      simple(2, 'refund()', 0n, () => escrowActions.refund()),
      simple(1, 'close()', undefined, () => escrowActions.close()),
    ),
  }
}

/** TvDelivery between a buyer (0) and a seller (1), three oracles (actors 0..2), quorum 2, deadline 6 blocks on. */
export function tvDeliverySubject(): CheckSubject {
  const trackingId = 'TRACK-42'
  return {
    name: 'TvDelivery',
    abi: TvDelivery.abi,
    bytecode: TvDelivery.bytecode,
    deployedBytecode: TvDelivery.deployedBytecode,
    opening: (ctx) => ({
      appData: initialTvDeliveryData({
        buyer: 0,
        seller: 1,
        trackingId,
        oracles: ctx.actors.slice(0, 3).map((a) => addressToSignerId(a.address)),
        quorum: 2,
        price: 300n,
        deadline: 6n,
      }),
      balances: [500n, 0n],
    }),
    step: fc.oneof(
      simple(3, 'pay()', 0n, () => tvDeliveryActions.pay()),
      {
        weight: 3,
        arbitrary: fc
          .record({
            mover: moverFor(1n),
            advance,
            oracles: fc.subarray([0, 1, 2, 0], { minLength: 0, maxLength: 4 }),
            answer: fc.oneof(
              { weight: 4, arbitrary: fc.constant('delivered') },
              { weight: 1, arbitrary: fc.constant('lost') },
            ),
          })
          .map((s) =>
            step(`claim(oracles=${s.oracles.join('+')}, ${s.answer})`, s.mover, s.advance, (ctx) =>
              tvDeliveryActions.claim(
                s.oracles.map((i) =>
                  signAnswer({
                    chainId: ctx.params.chainId,
                    key: { curve: 'secp256k1', privateKey: actor(ctx, i).privateKey },
                    answer: deliveryAnswer({ trackingId, timestamp: ctx.env.timestamp, answer: s.answer }),
                  }),
                ),
              ),
            ),
          ),
      },
      simple(2, 'refund()', 0n, () => tvDeliveryActions.refund()),
      simple(1, 'close()', undefined, () => tvDeliveryActions.close()),
    ),
  }
}

const thermometer: OracleKey = {
  curve: 'p256',
  privateKey: '0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988',
}

/** ColdChainInsurance between an owner (0) and an insurer (1), a P-256 thermometer, a run of 2 out of [2, 8] °C pays. */
export function coldChainSubject(): CheckSubject {
  return {
    name: 'ColdChainInsurance',
    abi: ColdChainInsurance.abi,
    bytecode: ColdChainInsurance.bytecode,
    deployedBytecode: ColdChainInsurance.deployedBytecode,
    opening: () => ({
      appData: initialColdChainData({
        owner: 0,
        insurer: 1,
        device: getSignerId(thermometer),
        minValue: 2_000n,
        maxValue: 8_000n,
        runLength: 2,
        premium: 10n,
        insuredSum: 500n,
        periodSeconds: 600n,
        maxPeriods: 5n,
        claimWindow: 60n,
      }),
      balances: [200n, 600n],
    }),
    step: fc.oneof(
      simple(3, 'payPremium()', 0n, () => coldChainActions.payPremium()),
      {
        weight: 4,
        arbitrary: fc
          .record({
            mover: moverFor(0n),
            advance,
            values: fc.array(fc.bigInt({ min: -2_000n, max: 12_000n }), { minLength: 1, maxLength: 3 }),
            skip: fc.bigInt({ min: 0n, max: 1n }),
          })
          .map((s) =>
            step(
              `report(${s.values.join(',')}${s.skip > 0n ? ', skipping one' : ''})`,
              s.mover,
              s.advance,
              (ctx) => {
                const d = decodeColdChainData(ctx.from.appData)
                return coldChainActions.report(
                  s.values.map((milliCelsius, i) =>
                    signReading({
                      chainId: ctx.params.chainId,
                      key: thermometer,
                      reading: temperatureReading({
                        device: getSignerId(thermometer),
                        sequence: d.lastSequence + 1n + s.skip + BigInt(i),
                        timestamp: ctx.env.timestamp - BigInt(s.values.length - 1 - i),
                        milliCelsius,
                      }),
                    }),
                  ),
                )
              },
            ),
          ),
      },
      simple(1, 'close()', undefined, () => coldChainActions.close()),
    ),
  }
}
