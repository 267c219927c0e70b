import { formatEther, parseEther } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import type { SignedReading } from '../../oracles/message/types.ts'
import { startDeviceSimulator } from '../../oracles/sim/startDeviceSimulator.ts'
import { createDemoRun } from '../../cli/demo/createDemoRun.ts'
import { appModule } from './appModule.ts'
import type { DemoOptions, DemoSummary } from '../../cli/demo/types.ts'

/**
 * The cold-chain policy of the demo: a vaccine shipment kept at 2–8 °C; a run of 3 readings
 * outside it pays the insured sum of 1 ETH. The owner deposits 0.05 ETH for premiums of 0.01 ETH
 * per hour, the insurer deposits the 1 ETH it insures.
 */
export const COLD_CHAIN_DEMO = {
  ownerDeposit: parseEther('0.05'),
  insurerDeposit: parseEther('1'),
  premium: parseEther('0.01'),
  insuredSum: parseEther('1'),
  premiumsPaid: 2,
  minValue: 2_000n,
  maxValue: 8_000n,
  runLength: 3,
  /** The thermometer's profile: 2 readings at ~4 °C, then 12 °C for 4 readings. */
  profile: { kind: 'excursion', baseMilliC: 4_000, after: 2, length: 4, peakMilliC: 12_000 },
  readings: 5,
} as const

const celsius = (mC: bigint) => `${(Number(mC) / 1000).toFixed(2)} °C`

/** The topic filter of device readings a node's input source subscribes to. */
const READING_TOPIC = 'chanvm/v1/devices/+/readings'

/**
 * The cold-chain insurance end to end, each party a chanvm node driven through its HTTP API. The
 * owner pays premiums to the insurer in the channel; the truck's thermometer (a P-256 key, as a
 * secure element carries) signs a temperature reading per interval and publishes it over MQTT; the
 * owner's node has the thermometer as a configured input: its input source checks the readings
 * (schema, signature, allow list, replay) and its `report` hands in those not reported yet. The
 * thermometer's excursion profile leaves the range for a run of readings: reporting the run pays
 * the insured sum. The insurer's node co-signs, or with `refuse` it refuses to sign the payout and
 * the owner's node forces the signed readings on chain, waits out the challenge period, concludes
 * and withdraws.
 *
 * @example
 * ```ts
 * const summary = await runColdChainDemo({ refuse: true })
 * console.log(summary.outcome, summary.payouts) // 'owner-insured', the owner withdraws 1.03 ETH
 * ```
 */
export async function runColdChainDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const refuse = options.refuse === true
  const C = COLD_CHAIN_DEMO
  const run = await createDemoRun({ app: appModule }, options)
  try {
    const chainId = BigInt(run.chainId)
    const thermometerKey = createOracleKey('p256')
    const device = getSignerId(thermometerKey)
    // What the thermometer published, in order; the owner's node reports each one it verified.
    const published: SignedReading[] = []
    let received = 0
    run.onNodeEvent(0, (e) => {
      if (e.source !== 'input' || e.verdict !== 'accepted') return
      if (e.signer?.toLowerCase() !== device.toLowerCase()) return
      const r = published[received]
      received++
      if (r === undefined) return
      const out = r.reading.value < C.minValue || r.reading.value > C.maxValue
      run.emit(
        'reading-received',
        'owner',
        `owner's node verified reading #${r.reading.sequence} from MQTT: ${celsius(r.reading.value)}${out ? ' OUT OF RANGE' : ''}`,
        {
          sequence: r.reading.sequence.toString(),
          milliCelsius: r.reading.value.toString(),
          outOfRange: out,
        },
      )
    })
    const { channelId } = await run.open({
      terms: {
        device,
        minValue: C.minValue.toString(),
        maxValue: C.maxValue.toString(),
        runLength: C.runLength,
        premium: C.premium.toString(),
        insuredSum: C.insuredSum.toString(),
        periodSeconds: 3_600,
        maxPeriods: 24,
        claimWindow: 600,
      },
      balances: [C.ownerDeposit, C.insurerDeposit],
      inputs: { 0: [{ topic: READING_TOPIC, signers: [device] }] },
      // Under --refuse the insurer's node signs nothing that pays the insured sum.
      ...(refuse
        ? {
            refuse: {
              1: {
                reason: 'the insurer disputes the excursion and will not pay',
                mover: 0,
                balanceGrowsFor: 0,
              },
            },
          }
        : {}),
    })
    run.emit(
      'terms',
      'channel',
      `policy: readings of thermometer ${device.slice(0, 12)}… must stay in ${celsius(C.minValue)}–${celsius(C.maxValue)}; ${C.runLength} in a row outside pay ${formatEther(C.insuredSum)} ETH; premium ${formatEther(C.premium)} ETH per hour`,
      {
        device,
        runLength: C.runLength,
        insuredSum: C.insuredSum.toString(),
      },
    )

    for (let i = 1; i <= C.premiumsPaid; i++) {
      const r = await run.move(
        0,
        { app: 'cold-chain', type: 'premium' },
        `owner pays premium ${i} (${formatEther(C.premium)} ETH)`,
      )
      if (!r.ok) throw new ChanvmError('STEP_REJECTED', 'a premium was not co-signed', { channelId })
    }
    const coverageStart = (await run.head()).timestamp

    // The thermometer: its clock is never behind the coverage start (anvil may run a little ahead of the host clock).
    const thermometer = await startDeviceSimulator({
      url: run.env.brokerUrl,
      chainId,
      key: thermometerKey,
      profile: C.profile,
      intervalMs: 0,
      now: () => Math.max(Date.now(), Number(coverageStart) * 1_000),
    })
    run.env.defer(() => thermometer.stop())
    run.emit(
      'device',
      'thermometer',
      `thermometer ${device.slice(0, 12)}… (P-256) starts signing readings and publishing them over MQTT`,
      { device },
    )

    let reported = 0
    let runOut = 0
    let decisive: number | undefined
    for (let i = 0; i < C.readings && decisive === undefined; i++) {
      const signed = await thermometer.publishNow()
      published.push(signed)
      run.emit(
        'reading-published',
        'thermometer',
        `thermometer signs reading #${signed.reading.sequence}: ${celsius(signed.reading.value)}`,
        {
          sequence: signed.reading.sequence.toString(),
          milliCelsius: signed.reading.value.toString(),
        },
      )
      const until = Date.now() + 5_000
      while (received <= i && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      if (received <= i)
        throw new ChanvmError(
          'TRANSPORT_CLOSED',
          `reading #${signed.reading.sequence} did not reach the owner's node over MQTT`,
          { channelId },
        )
      const out = signed.reading.value < C.minValue || signed.reading.value > C.maxValue
      runOut = out ? runOut + 1 : 0
      const batch = i + 1 - reported
      if (runOut >= C.runLength) decisive = batch
      else if (!out && batch >= 2) {
        // Routine report of readings in range: the insurer signs it without a second thought.
        await run.waitForChainTime(signed.reading.timestamp)
        const r = await run.move(
          0,
          { app: 'cold-chain', type: 'report' },
          `owner reports ${batch} readings in range`,
        )
        if (!r.ok) throw new ChanvmError('STEP_REJECTED', 'a routine report was not co-signed', { channelId })
        reported = i + 1
      }
    }
    if (decisive === undefined)
      throw new ChanvmError('STEP_REJECTED', 'the thermometer never left the range', { channelId })
    run.emit(
      'excursion',
      'owner',
      `${C.runLength} readings in a row out of range: the owner claims the insured sum`,
    )
    await run.waitForChainTime(published[published.length - 1]?.reading.timestamp ?? 0n)
    const label = `owner reports ${decisive} signed readings with the excursion`
    const r = await run.move(0, { app: 'cold-chain', type: 'report' }, label)
    if (r.ok) {
      if (!r.isFinal)
        throw new ChanvmError('STEP_REJECTED', 'the excursion should pay out and end the policy', {
          channelId,
        })
      await run.settle(0)
    } else {
      if (!refuse) throw new ChanvmError('STEP_REJECTED', `${label} was not co-signed`, { channelId })
      await run.force(0, label)
    }
    const payouts = await run.withdrawAll()
    const premiums = C.premium * BigInt(C.premiumsPaid)
    const expectedOwner = C.ownerDeposit - premiums + C.insuredSum
    const owner = payouts[0]?.withdrawn ?? 0n
    return run.finish({
      outcome: owner === expectedOwner ? 'owner-insured' : 'owner-not-insured',
      expectedOutcome: 'owner-insured',
      payouts,
      expectedPayouts: { owner: expectedOwner, insurer: C.insurerDeposit + premiums - C.insuredSum },
    })
  } finally {
    await run.close()
  }
}
