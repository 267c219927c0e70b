import { parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { signRuling } from './escrowClient.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createDemoRun } from '../../cli/demo/createDemoRun.ts'
import { appModule } from './appModule.ts'
import type { DemoOptions, DemoSummary } from '../../cli/demo/types.ts'

/** What the escrow demo locks and pays: the payer deposits 1 ETH and escrows 0.4 ETH. */
export const ESCROW_DEMO = { deposit: parseEther('1'), amount: parseEther('0.4') } as const

/**
 * The escrow deal end to end, each party a chanvm node driven through its HTTP API. The payer
 * funds an escrow for the payee, the payee delivers, the payer releases and both co-sign a final
 * state that the payee's node concludes on chain at once. With `refuse`, the payer will not
 * release: the payee gets the arbiter's signed ruling, the payer's node refuses to co-sign it, and
 * the payee's node takes its dispute steps: it force-progresses the ruling on chain, waits out the
 * challenge period, concludes and withdraws. Either way the payee gets 0.4 ETH and the payer 0.6.
 *
 * @example
 * ```ts
 * const summary = await runEscrowDemo({ refuse: true, onEvent: (e) => console.log(e.text) })
 * console.log(summary.ok, summary.payouts)
 * ```
 */
export async function runEscrowDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const run = await createDemoRun({ app: appModule }, options)
  try {
    const arbiterKey = generatePrivateKey()
    const arbiter = privateKeyToAddress(arbiterKey)
    const refuse = options.refuse === true
    const { params, channelId } = await run.open({
      terms: { arbiter },
      balances: [ESCROW_DEMO.deposit, 0n],
      // Under --refuse the payer's node signs nothing that pays the payee.
      ...(refuse
        ? {
            refuse: {
              0: { reason: 'the payer disputes the delivery and will not pay', mover: 1, balanceGrowsFor: 1 },
            },
          }
        : {}),
    })
    run.emit('arbiter', 'arbiter', `arbiter ${arbiter} settles disputes with signed rulings`, { arbiter })

    const deadline = (await run.head()).timestamp + 3_600n
    const funded = await run.move(
      0,
      { app: 'escrow', type: 'fund', amount: ESCROW_DEMO.amount, deadline },
      'payer funds the escrow with 0.4 ETH',
    )
    if (!funded.ok) throw new ChanvmError('STEP_REJECTED', 'the fund step was not co-signed', { channelId })
    run.emit('delivered', 'payee', 'payee delivers the goods')

    if (!refuse) {
      const released = await run.move(
        0,
        { app: 'escrow', type: 'release' },
        'payer releases the escrow to the payee',
      )
      if (!released.ok) throw new ChanvmError('STEP_REJECTED', 'the release was not co-signed', { channelId })
      const closed = await run.move(1, { app: 'escrow', type: 'close' }, 'payee closes the channel')
      if (!closed.ok) throw new ChanvmError('STEP_REJECTED', 'the close was not co-signed', { channelId })
      await run.settle(1)
    } else {
      run.emit('dispute', 'payee', 'payer does not release; payee asks the arbiter')
      const arbiterSignature = signRuling(params, channelId, 0n, true, arbiterKey)
      run.emit('ruling', 'arbiter', 'arbiter signs a ruling for the payee (escrow 0)', { toPayee: true })
      const asked = await run.move(
        1,
        { app: 'escrow', type: 'ruling', toPayee: true, arbiterSignature },
        "payee applies the arbiter's ruling",
      )
      if (asked.ok)
        throw new ChanvmError('STEP_REJECTED', 'the payer was expected to refuse the ruling', { channelId })
      await run.force(1, "the arbiter's signed ruling for the payee")
    }
    const payouts = await run.withdrawAll()
    const payee = payouts[1]?.withdrawn ?? 0n
    const outcome = payee === ESCROW_DEMO.amount ? 'payee-paid' : payee === 0n ? 'payer-refunded' : 'other'
    return run.finish({
      outcome,
      expectedOutcome: 'payee-paid',
      payouts,
      expectedPayouts: { payer: ESCROW_DEMO.deposit - ESCROW_DEMO.amount, payee: ESCROW_DEMO.amount },
    })
  } finally {
    await run.close()
  }
}
