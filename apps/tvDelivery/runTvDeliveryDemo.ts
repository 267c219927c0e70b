import { formatEther, parseEther } from 'viem'
import { trackingQuestionId, tvDeliveryActions } from './tvDeliveryClient.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppAction } from '../../node/types.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { startOracleSimulator, type OracleSimulator } from '../../oracles/sim/startOracleSimulator.ts'
import { createDemoRun } from '../../cli/demo/createDemoRun.ts'
import { appModule } from './appModule.ts'
import type { DemoOptions, DemoSummary } from '../../cli/demo/types.ts'

/** The TV purchase of the demo: the buyer deposits 1 ETH, the TV costs 0.5 ETH, 2 of 3 oracles must confirm. */
export const TV_DEMO = {
  deposit: parseEther('1'),
  price: parseEther('0.5'),
  quorum: 2,
  oracles: 3,
  deadlineBlocks: 20n,
  trackingId: '1Z999AA10123456784',
} as const

/** The topic filter of oracle answers a node's input source subscribes to. */
const ANSWER_TOPIC = 'chanvm/v1/oracles/+/answers'

/**
 * The TV purchase end to end, each party a chanvm node driven through its HTTP API. The buyer
 * locks the price in the channel; three oracles (two secp256k1, one P-256 like a secure element)
 * are asked whether the parcel arrived, and `answers` of them (default 2, the quorum) publish a
 * signed "delivered" over MQTT. The seller's node has them as configured inputs: its input source
 * checks them (schema, signature, allow list, replay) and its `claim` takes the quorum; the buyer's
 * node co-signs and the seller's node concludes the final state on chain. With fewer answers than
 * the quorum there is no claim: after the deadline block the buyer takes a refund. With `refuse`,
 * the party that loses (the buyer for a claim, the seller for a refund) refuses to sign and the
 * other's node forces the step on chain with the signed oracle data.
 *
 * @example
 * ```ts
 * const summary = await runTvDeliveryDemo({ answers: 1 }) // only one oracle answers: refund
 * console.log(summary.outcome) // 'buyer-refunded'
 * ```
 */
export async function runTvDeliveryDemo(
  options: DemoOptions & { answers?: number } = {},
): Promise<DemoSummary> {
  const answering = options.answers ?? TV_DEMO.quorum
  const refuse = options.refuse === true
  const run = await createDemoRun({ app: appModule }, options)
  try {
    const chainId = BigInt(run.chainId)
    const keys = [createOracleKey('secp256k1'), createOracleKey('secp256k1'), createOracleKey('p256')]
    const oracleIds = keys.map((k) => getSignerId(k))
    const questionId = trackingQuestionId(TV_DEMO.trackingId)
    const claimWins = answering >= TV_DEMO.quorum
    // The deadline is a block number, counted from now.
    const deadline = (await run.head()).blockNumber + TV_DEMO.deadlineBlocks

    // The seller's node verifies the oracles' answers it receives over MQTT.
    let received = 0
    run.onNodeEvent(1, (e) => {
      if (e.source !== 'input' || e.verdict !== 'accepted' || e.signer === undefined) return
      const i = oracleIds.findIndex((id) => id.toLowerCase() === e.signer?.toLowerCase())
      if (i < 0) return
      received++
      run.emit(
        'answer-received',
        'seller',
        `seller's node verified the answer of oracle ${e.signer.slice(0, 10)}… (${keys[i]?.curve}) from MQTT [${received}/${TV_DEMO.quorum}]`,
        { oracle: e.signer, curve: keys[i]?.curve ?? '' },
      )
    })
    const { channelId } = await run.open({
      terms: {
        trackingId: TV_DEMO.trackingId,
        oracles: oracleIds,
        quorum: TV_DEMO.quorum,
        price: TV_DEMO.price.toString(),
        deadline: deadline.toString(),
      },
      balances: [TV_DEMO.deposit, 0n],
      inputs: { 1: [{ topic: ANSWER_TOPIC, signers: oracleIds }] },
      ...(refuse
        ? {
            refuse: claimWins
              ? { 0: { reason: 'the buyer will not pay the seller', mover: 1 } }
              : {
                  1: {
                    reason: 'the seller will not give the money back',
                    action: tvDeliveryActions.refund(),
                  },
                },
          }
        : {}),
    })
    run.emit(
      'terms',
      'channel',
      `buyer orders a TV for ${formatEther(TV_DEMO.price)} ETH, tracking id ${TV_DEMO.trackingId}; ${TV_DEMO.quorum} of ${TV_DEMO.oracles} oracles must confirm delivery; refund from block ${deadline}`,
      {
        price: TV_DEMO.price.toString(),
        quorum: TV_DEMO.quorum,
        deadlineBlock: deadline.toString(),
      },
    )

    const paid = await run.move(
      0,
      { app: 'tv-delivery', type: 'pay' },
      'buyer pays 0.5 ETH into the purchase',
    )
    if (!paid.ok) throw new ChanvmError('STEP_REJECTED', 'the payment was not co-signed', { channelId })
    run.emit('shipped', 'seller', 'seller ships the TV')

    // Oracles answer with the chain's time, so the answer is never "from the future" for the app.
    const headMs = Number((await run.head()).timestamp) * 1_000
    const sims: OracleSimulator[] = []
    for (const key of keys) {
      const sim = await startOracleSimulator({
        url: run.env.brokerUrl,
        chainId,
        questionId,
        key,
        now: () => headMs,
      })
      run.env.defer(() => sim.stop())
      sims.push(sim)
    }
    for (const [i, sim] of sims.entries()) {
      if (i < answering) {
        await sim.answerNow()
        run.emit(
          'answer-published',
          `oracle-${i + 1}`,
          `oracle ${i + 1} (${keys[i]?.curve}) signs "delivered" for ${TV_DEMO.trackingId} and publishes it over MQTT`,
          { oracle: sim.oracleId },
        )
      } else run.emit('silent', `oracle-${i + 1}`, `oracle ${i + 1} does not answer`)
    }
    const until = Date.now() + 5_000
    while (received < answering && Date.now() < until) await new Promise((r) => setTimeout(r, 50))

    let decisive: { mover: 0 | 1; action: AppAction; label: string }
    if (received >= TV_DEMO.quorum) {
      decisive = {
        mover: 1,
        action: { app: 'tv-delivery', type: 'claim' },
        label: `seller claims the price with ${TV_DEMO.quorum} signed "delivered" answers`,
      }
    } else {
      run.emit(
        'no-quorum',
        'seller',
        `only ${received} of the ${TV_DEMO.quorum} required answers: the seller cannot claim`,
        { answers: received },
      )
      await run.advanceBlocks(TV_DEMO.deadlineBlocks + 1n, 'waiting for the deadline block')
      decisive = {
        mover: 0,
        action: { app: 'tv-delivery', type: 'refund' },
        label: 'buyer takes a refund after the deadline block',
      }
    }
    const r = await run.move(decisive.mover, decisive.action, decisive.label)
    if (r.ok) {
      if (!r.isFinal)
        throw new ChanvmError('STEP_REJECTED', 'the decisive step should end the purchase', { channelId })
      await run.settle(decisive.mover)
    } else {
      if (!refuse)
        throw new ChanvmError('STEP_REJECTED', `${decisive.label} was not co-signed`, { channelId })
      await run.force(decisive.mover, decisive.label)
    }
    const payouts = await run.withdrawAll()
    const seller = payouts[1]?.withdrawn ?? 0n
    const outcome = seller === TV_DEMO.price ? 'seller-paid' : seller === 0n ? 'buyer-refunded' : 'other'
    return run.finish({
      outcome,
      expectedOutcome: claimWins ? 'seller-paid' : 'buyer-refunded',
      payouts,
      expectedPayouts: claimWins
        ? { buyer: TV_DEMO.deposit - TV_DEMO.price, seller: TV_DEMO.price }
        : { buyer: TV_DEMO.deposit, seller: 0n },
    })
  } finally {
    await run.close()
  }
}
