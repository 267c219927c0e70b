import { fileURLToPath } from 'node:url'
import { formatEther, parseEther } from 'viem'
import { loadAppModule } from '../../apps/module/loadAppModule.ts'
import { createDemoRun } from '../../cli/demo/createDemoRun.ts'
import type { DemoOptions, DemoSummary } from '../../cli/demo/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import type { SignedReading } from '../../oracles/message/types.ts'
import { startMeter } from './startMeter.ts'

/**
 * The metered deal of the demo: the consumer deposits 0.8 ETH for a service priced 0.01 ETH per
 * second, capped at 0.5 ETH; the meter reports 15, 30, 45 and 60 s of service. Under `--refuse`
 * the consumer pays for the first two readings and then stops paying.
 */
export const METERED_DEMO = {
  deposit: parseEther('0.8'),
  pricePerUnit: parseEther('0.01'),
  cap: parseEther('0.5'),
  closeGrace: 60n,
  /** The meter's readings: cumulative seconds of service. */
  usage: [15n, 30n, 45n, 60n],
  /** Under `refuse`, how many readings the consumer pays for before it stops paying. */
  paidBeforeRefusal: 2,
} as const

/** The topic filter of device readings a node's input source subscribes to. */
const READING_TOPIC = 'chanvm/v1/devices/+/readings'

/** What `seconds` of service cost under the demo's terms: the price per second, up to the cap. */
const dueFor = (seconds: bigint): bigint => {
  const due = seconds * METERED_DEMO.pricePerUnit
  return due > METERED_DEMO.cap ? METERED_DEMO.cap : due
}
const eth = (wei: bigint) => `${formatEther(wei)} ETH`

/**
 * The metered-payments deal end to end, loaded the way a user's app is: `buildMetered` compiles
 * Metered.sol when its artifact is missing or older, `loadAppModule` reads the manifest beside
 * this file, and each party's node lists that manifest in its configuration's `apps`. A meter (a
 * P-256 device key) signs the cumulative seconds of service and publishes each reading over MQTT;
 * both nodes have it as a configured input and verify its readings. The consumer's node pays for
 * each reading as it arrives (`pay`, the readings filled in by the node), never more than the
 * cap; the provider closes and its node concludes the final state on chain: the provider gets
 * what was paid, the consumer the refund of the rest of its deposit. With `refuse`, the consumer
 * stops paying after two readings and its node refuses to co-sign the provider's `pay`: the
 * provider's node forces it on chain with the meter's signed readings, waits out the challenge
 * period, concludes and withdraws. Either way the provider gets 0.5 ETH (the cap) and the
 * consumer 0.3 ETH back.
 *
 * @example
 * ```ts
 * const summary = await runMeteredDemo({ refuse: true })
 * console.log(summary.outcome, summary.forcedSteps) // 'paid-per-unit', 1
 * ```
 */
export async function runMeteredDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const M = METERED_DEMO
  const refuse = options.refuse === true
  const manifest = fileURLToPath(new URL('./manifest.json', import.meta.url))
  // solc loads only when the demo runs (`chanvm demo --help` lists it without compiling anything).
  const { buildMetered } = await import('./buildMetered.ts')
  const artifactPath = buildMetered()
  const app = loadAppModule(manifest)
  const run = await createDemoRun({ app, manifest }, options)
  try {
    run.emit(
      'app',
      'channel',
      `${app.name} is a user's app: built from Metered.sol into ${artifactPath}, each node loads it from ${manifest} (code hash ${app.artifact.codeHash.slice(0, 12)}…)`,
      { manifest, artifact: artifactPath, codeHash: app.artifact.codeHash },
    )
    const chainId = BigInt(run.chainId)
    const meterKey = createOracleKey('p256')
    let startedAt = (await run.head()).timestamp
    const meter = await startMeter({
      url: run.env.brokerUrl,
      chainId,
      key: meterKey,
      // The meter's clock is never behind the chain's (anvil may run a little ahead of the host clock).
      now: () => {
        const host = BigInt(Math.floor(Date.now() / 1000))
        return host > startedAt ? host : startedAt
      },
    })
    run.env.defer(() => meter.stop())
    // Readings each party's node verified, in the order the meter published them.
    const published: SignedReading[] = []
    const received: [number, number] = [0, 0]
    for (const who of [0, 1] as const)
      run.onNodeEvent(who, (e) => {
        if (e.source !== 'input' || e.verdict !== 'accepted') return
        if (e.signer?.toLowerCase() !== meter.id.toLowerCase()) return
        received[who]++
      })

    const { channelId } = await run.open({
      terms: {
        meter: meter.id,
        pricePerUnit: M.pricePerUnit.toString(),
        cap: M.cap.toString(),
        closeGrace: Number(M.closeGrace),
      },
      balances: [M.deposit, 0n],
      inputs: {
        0: [{ topic: READING_TOPIC, signers: [meter.id] }],
        1: [{ topic: READING_TOPIC, signers: [meter.id] }],
      },
      // Under --refuse the consumer's node signs no payment the provider asks for.
      ...(refuse
        ? {
            refuse: {
              0: { reason: 'the consumer stops paying for the service', mover: 1, balanceGrowsFor: 1 },
            },
          }
        : {}),
    })
    run.emit(
      'terms',
      'channel',
      `consumer deposits ${eth(M.deposit)} for a service at ${eth(M.pricePerUnit)} per second, at most ${eth(M.cap)} in all; meter ${meter.id.slice(0, 12)}… (P-256) signs the seconds of service`,
      {
        meter: meter.id,
        pricePerUnit: M.pricePerUnit.toString(),
        cap: M.cap.toString(),
        deposit: M.deposit.toString(),
      },
    )
    startedAt = (await run.head()).timestamp

    let paidFor = 0n
    for (const [i, seconds] of M.usage.entries()) {
      const signed = await meter.report(seconds)
      published.push(signed)
      run.emit(
        'reading-published',
        'meter',
        `meter signs reading #${signed.reading.sequence}: ${seconds} s of service so far (${eth(dueFor(seconds))} due in all)`,
        { sequence: signed.reading.sequence.toString(), seconds: seconds.toString() },
      )
      const until = Date.now() + 5_000
      while ((received[0] <= i || received[1] <= i) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20))
      if (received[0] <= i || received[1] <= i)
        throw new ChanvmError(
          'TRANSPORT_CLOSED',
          `reading #${signed.reading.sequence} did not reach both nodes over MQTT`,
          { channelId },
        )
      run.emit(
        'reading-received',
        'consumer',
        `both nodes verified reading #${signed.reading.sequence} from MQTT (schema, P-256 signature, allow list, replay)`,
        { sequence: signed.reading.sequence.toString() },
      )
      if (refuse && i >= M.paidBeforeRefusal) {
        if (i === M.paidBeforeRefusal)
          run.emit('stops-paying', 'consumer', 'consumer keeps using the service but stops paying')
        continue
      }
      await run.waitForChainTime(signed.reading.timestamp)
      const due = dueFor(seconds)
      const r = await run.move(
        0,
        { app: app.name, type: 'pay' },
        `consumer pays ${eth(due - dueFor(paidFor))} for ${seconds - paidFor} more seconds${due === M.cap ? ' (the cap is reached)' : ''}`,
      )
      if (!r.ok) throw new ChanvmError('STEP_REJECTED', 'a payment was not co-signed', { channelId })
      paidFor = seconds
    }

    const last = M.usage[M.usage.length - 1] ?? 0n
    if (refuse) {
      await run.waitForChainTime(published[published.length - 1]?.reading.timestamp ?? 0n)
      const label = `provider claims ${eth(dueFor(last) - dueFor(paidFor))} for ${last - paidFor} more seconds with the meter's ${published.length - M.paidBeforeRefusal} signed readings`
      const r = await run.move(1, { app: app.name, type: 'pay' }, label)
      if (r.ok)
        throw new ChanvmError('STEP_REJECTED', 'the consumer was expected to refuse the payment', {
          channelId,
        })
      await run.force(1, label)
    } else {
      const r = await run.move(1, { app: app.name, type: 'close' }, 'provider closes: the service is over')
      if (!r.ok || !r.isFinal)
        throw new ChanvmError('STEP_REJECTED', 'the close was not co-signed as final', { channelId })
      await run.settle(1)
    }
    const payouts = await run.withdrawAll()
    const paid = dueFor(last)
    const provider = payouts[1]?.withdrawn ?? 0n
    const consumer = payouts[0]?.withdrawn ?? 0n
    run.emit(
      'settled',
      'channel',
      `the provider got ${eth(provider)} for ${last} s of service (capped at ${eth(M.cap)}); the consumer got back ${eth(consumer)} of its ${eth(M.deposit)} deposit`,
      { paid: provider.toString(), refund: consumer.toString() },
    )
    return run.finish({
      outcome: provider === paid && consumer === M.deposit - paid ? 'paid-per-unit' : 'other',
      expectedOutcome: 'paid-per-unit',
      payouts,
      expectedPayouts: { consumer: M.deposit - paid, provider: paid },
    })
  } finally {
    await run.close()
  }
}
