import { formatEther, parseEther } from 'viem'
import { coldChainActions, coldChainApp, initialColdChainData } from '../../apps/coldChain/coldChainClient.ts'
import { ColdChainInsurance } from '../../contracts/generated/ColdChainInsurance.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import type { SignedReading } from '../../oracles/message/types.ts'
import { createMqttInputSource } from '../../oracles/mqtt/createMqttInputSource.ts'
import { startDeviceSimulator } from '../../oracles/sim/startDeviceSimulator.ts'
import { createDemoRun } from './createDemoRun.ts'
import type { DemoOptions, DemoSummary } from './types.ts'
import { verifiedInputToReading } from './verifiedInputToSigned.ts'

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

/**
 * The cold-chain insurance end to end. The owner pays premiums to the insurer in the channel; the
 * truck's thermometer (a P-256 key, as a secure element carries) signs a temperature reading per
 * interval and publishes it over MQTT; the owner's node ingests the readings (schema, signature,
 * allow list, replay checks) and reports them. The thermometer's excursion profile leaves the range
 * for a run of readings: reporting the run pays the insured sum. The insurer co-signs, or with
 * `refuse` it refuses to sign the payout and the owner force-progresses the signed readings on
 * chain, waits out the challenge period, concludes and withdraws.
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
  const run = await createDemoRun(
    'cold-chain',
    { roles: ['owner', 'insurer'], app: coldChainApp, appName: 'coldChain', artifact: ColdChainInsurance },
    options,
  )
  try {
    const chainId = BigInt(run.chainId)
    const thermometerKey = createOracleKey('p256')
    const device = getSignerId(thermometerKey)
    const { channelId } = await run.open({
      appData: initialColdChainData({
        owner: 0,
        insurer: 1,
        device,
        minValue: C.minValue,
        maxValue: C.maxValue,
        runLength: C.runLength,
        premium: C.premium,
        insuredSum: C.insuredSum,
        periodSeconds: 3_600n,
        maxPeriods: 24n,
        claimWindow: 600n,
      }),
      balances: [C.ownerDeposit, C.insurerDeposit],
      // Under --refuse the insurer signs nothing that pays the insured sum.
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
        coldChainActions.payPremium(),
        `owner pays premium ${i} (${formatEther(C.premium)} ETH)`,
      )
      if (!r.ok) throw new ChanvmError('STEP_REJECTED', 'a premium was not co-signed', { channelId })
    }
    const coverageStart = (await run.head()).timestamp

    // The owner's node ingests the thermometer's readings from the broker.
    const source = await createMqttInputSource({
      url: run.env.brokerUrl,
      chainId,
      devices: [device],
      log: false,
    })
    run.env.defer(() => source.close())
    const received: SignedReading[] = []
    source.onInput((input) => {
      if (input.kind !== 'reading') return
      const r = verifiedInputToReading(input)
      received.push(r)
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
    source.onRejection((r) =>
      run.emit('input-rejected', 'owner', `owner's node rejected a message (${r.reason}): ${r.detail}`, {
        reason: r.reason,
      }),
    )

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
    let decisive: { action: `0x${string}`; readings: number } | undefined
    for (let i = 0; i < C.readings && decisive === undefined; i++) {
      const signed = await thermometer.publishNow()
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
      while (received.length <= i && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      const last = received[i]
      if (last === undefined)
        throw new ChanvmError(
          'TRANSPORT_CLOSED',
          `reading #${signed.reading.sequence} did not arrive over MQTT`,
          { channelId },
        )
      const out = last.reading.value < C.minValue || last.reading.value > C.maxValue
      runOut = out ? runOut + 1 : 0
      const batch = received.slice(reported, i + 1)
      if (runOut >= C.runLength) {
        decisive = { action: coldChainActions.report(batch), readings: batch.length }
      } else if (!out && batch.length >= 2) {
        // Routine report of readings in range: the insurer signs it without a second thought.
        await run.waitForChainTime(last.reading.timestamp)
        const r = await run.move(
          0,
          coldChainActions.report(batch),
          `owner reports ${batch.length} readings in range`,
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
    const lastTs = received[received.length - 1]?.reading.timestamp ?? 0n
    await run.waitForChainTime(lastTs)
    const label = `owner reports ${decisive.readings} signed readings with the excursion`
    const r = await run.move(0, decisive.action, label)
    if (r.ok) {
      if (!r.signed.state.isFinal)
        throw new ChanvmError('STEP_REJECTED', 'the excursion should pay out and end the policy', {
          channelId,
        })
      await run.concludeFinal(0, r.signed)
    } else {
      if (!refuse) throw new ChanvmError('STEP_REJECTED', `${label} was not co-signed`, { channelId })
      await run.forceAndConclude(0, await run.latest(0), decisive.action, label)
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
