// The metered-payments example (examples/metered) as a subject of `checkApp`, built from the
// artifact the example's build writes: random PAY steps carrying the meter's signed readings
// (some replayed, some with a usage that goes back) and CLOSE by either side.
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import {
  decodeAbiParameters,
  encodeAbiParameters,
  getAbiItem,
  type Abi,
  type AbiParameter,
  type Hex,
} from 'viem'
import type { CheckStep, CheckSubject } from '../../engine/appcheck/types.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { oracleSignatureToStruct } from '../../oracles/message/oracleSignatureToStruct.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { OracleKey } from '../../oracles/message/types.ts'
import { buildMetered } from '../../examples/metered/buildMetered.ts'

/** The compiled Metered contract, from the example's standard JSON output. */
export function meteredArtifact(): { abi: Abi; bytecode: Hex; deployedBytecode: Hex } {
  const out = JSON.parse(readFileSync(buildMetered(), 'utf8')) as {
    contracts: Record<
      string,
      Record<
        string,
        { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
      >
    >
  }
  const c = out.contracts['Metered.sol']?.Metered
  if (c === undefined) throw new Error('Metered is not in the build output')
  return {
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  }
}

/** A fixed P-256 meter key (a secure element's, in a real meter). */
export const meterKey: OracleKey = {
  curve: 'p256',
  privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
}

export type MeterTerms = { pricePerUnit: bigint; cap: bigint; closeGrace: bigint }
export const defaultMeterTerms: MeterTerms = { pricePerUnit: 1_000n, cap: 500_000n, closeGrace: 60n }

/** The Metered state and action codecs, from the artifact's ABI. */
export function meteredCodec(abi: Abi) {
  const inputs = (name: string): readonly AbiParameter[] => {
    const item = getAbiItem({ abi, name })
    if (item?.type !== 'function') throw new Error(`the Metered ABI has no function ${name}`)
    return item.inputs
  }
  const dataParams = inputs('encodeData')
  const payParams = inputs('encodePay')
  type Meter = {
    consumer: number
    provider: number
    meter: Hex
    pricePerUnit: bigint
    cap: bigint
    closeGrace: bigint
    lastSequence: bigint
    lastReadingAt: bigint
    units: bigint
    paid: bigint
  }
  const encodeData = (d: Meter): Hex => encodeAbiParameters(dataParams, [d])
  const decodeData = (appData: Hex): Meter => decodeAbiParameters(dataParams, appData)[0] as Meter
  const action = (kind: number, body: Hex): Hex =>
    encodeAbiParameters([{ type: 'uint8' }, { type: 'bytes' }], [kind, body])
  const usage = textToBytes32('usage')
  const seconds = textToBytes32('s')
  /** PAY with readings of cumulative usage `values`, sequences from `firstSequence`, timestamps up to `at`. */
  const pay = (
    chainId: bigint,
    firstSequence: bigint,
    values: readonly bigint[],
    at: bigint,
    key = meterKey,
  ): Hex => {
    const readings = values.map((value, i) => {
      const signed = signReading({
        chainId,
        key,
        reading: {
          device: getSignerId(key),
          sequence: firstSequence + BigInt(i),
          timestamp: at - BigInt(values.length - 1 - i),
          kind: usage,
          value,
          unit: seconds,
        },
      })
      return { reading: signed.reading, sig: oracleSignatureToStruct(signed.signature) }
    })
    return action(0, encodeAbiParameters(payParams, [readings]))
  }
  const close = (): Hex => action(1, '0x')
  return { encodeData, decodeData, pay, close }
}

/** A subject for the Metered artifact: the consumer (0) deposits 600,000 wei, the provider (1) 0. */
export function meteredSubject(terms: MeterTerms = defaultMeterTerms): CheckSubject {
  const art = meteredArtifact()
  const codec = meteredCodec(art.abi)
  const payStep = (
    mover: bigint,
    deltas: readonly bigint[],
    replay: boolean,
    advance: bigint,
  ): CheckStep => ({
    label: `pay(usage+=${deltas.join('+')}${replay ? ', replayed' : ''})`,
    mover,
    advance,
    action: (ctx) => {
      const d = codec.decodeData(ctx.from.appData)
      let units = d.units
      const values = deltas.map((x) => (units += x))
      const first = replay ? d.lastSequence : d.lastSequence + 1n
      return codec.pay(ctx.params.chainId, first, values, ctx.env.timestamp)
    },
  })
  const mover = fc.constantFrom(0n, 1n)
  const advance = fc.oneof(fc.bigInt({ min: 1n, max: 30n }), fc.bigInt({ min: 31n, max: 600n }))
  const delta = fc.oneof(fc.bigInt({ min: 0n, max: 120n }), fc.bigInt({ min: -5n, max: -1n }))
  return {
    name: 'Metered',
    ...art,
    opening: () => ({
      appData: codec.encodeData({
        consumer: 0,
        provider: 1,
        meter: getSignerId(meterKey),
        ...terms,
        lastSequence: 0n,
        lastReadingAt: 0n,
        units: 0n,
        paid: 0n,
      }),
      balances: [600_000n, 0n],
    }),
    step: fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record({
            mover,
            deltas: fc.array(delta, { minLength: 1, maxLength: 3 }),
            replay: fc.boolean(),
            advance,
          })
          .map((s) => payStep(s.mover, s.deltas, s.replay, s.advance)),
      },
      {
        weight: 1,
        arbitrary: fc.record({ mover, advance }).map((s) => ({
          label: 'close()',
          mover: s.mover,
          advance: s.advance,
          action: () => codec.close(),
        })),
      },
    ),
    sequences: [
      [payStep(0n, [10n], false, 5n), payStep(1n, [30n, 20n], false, 10n), payStep(0n, [600n], false, 5n)],
    ],
  }
}
