// The metered-payments example app (examples/metered/Metered.sol), compiled by the example's own
// build: its rules forced on anvil step by step (each step also run in the sandbox and compared),
// and `chanvm app check` gives it a clean bill.
import assert from 'node:assert/strict'
import { checkApp } from '../../engine/appcheck/checkApp.ts'
import { runCheckSequence } from '../../engine/appcheck/runCheckSequence.ts'
import { startCheckChain, type CheckChain } from '../../engine/appcheck/startCheckChain.ts'
import type { CheckStep, StepOutcome } from '../../engine/appcheck/types.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { meteredArtifact, meteredCodec, meteredSubject, meterKey } from './meteredSubject.ts'

describe('metered payments (examples/metered) on anvil and in the sandbox', function () {
  this.timeout(300_000)
  const art = meteredArtifact()
  const codec = meteredCodec(art.abi)
  const subject = meteredSubject()
  let chain: CheckChain
  let nonce = 0n
  before(async () => {
    chain = await startCheckChain({ name: 'Metered', bytecode: art.bytecode })
  })
  after(async () => {
    await chain?.stop()
  })

  const run = async (steps: CheckStep[]) => {
    const r = await runCheckSequence(
      {
        subject,
        chain,
        sandbox: await createSandbox(),
        sandboxMoreGas: await createSandbox({ gasCap: 7_000_000n }),
        nonce: ++nonce,
      },
      steps,
    )
    assert.equal(r.finding, undefined, r.finding?.message)
    return r.records.map((x) => x.chain)
  }
  const step = (label: string, mover: bigint, action: CheckStep['action'], advance = 5n): CheckStep => ({
    label,
    mover,
    advance,
    action,
  })
  // PAY with cumulative usage values, sequences right after the last one taken
  const pay = (mover: bigint, values: bigint[], key = meterKey) =>
    step(`pay(${values.join(',')})`, mover, (ctx) =>
      codec.pay(
        ctx.params.chainId,
        codec.decodeData(ctx.from.appData).lastSequence + 1n,
        values,
        ctx.env.timestamp,
        key,
      ),
    )
  const close = (mover: bigint, advance = 5n) => step('close()', mover, () => codec.close(), advance)
  const balances = (o: StepOutcome | undefined) => {
    assert(
      o?.kind === 'state',
      `expected a state, got ${o?.kind}: ${o?.kind === 'state' ? '' : (o?.reason ?? '')}`,
    )
    return o.state.balances
  }
  const reverted = (o: StepOutcome | undefined) =>
    o?.kind === 'revert' ? o.reason : `not a revert: ${o?.kind}`

  it('pays per unit as readings arrive, up to the cap, and closes with the unused deposit as the consumer’s refund', async () => {
    // price 1,000 wei per second, cap 500,000; the consumer deposited 600,000
    const out = await run([pay(0n, [10n]), pay(1n, [30n, 60n]), close(1n), pay(0n, [70n])])
    assert.deepEqual(balances(out[0]), [590_000n, 10_000n])
    assert.deepEqual(
      balances(out[1]),
      [540_000n, 60_000n],
      'the provider forces a payment with the meter’s readings',
    )
    const closed = out[2]
    assert(closed?.kind === 'state' && closed.state.isFinal)
    assert.deepEqual(
      closed.state.balances,
      [540_000n, 60_000n],
      'the unused 540,000 wei go back to the consumer',
    )
    assert.equal(out[3]?.kind, 'final', 'no step follows the close')

    const capped = await run([pay(0n, [450n]), pay(1n, [700n])])
    assert.deepEqual(balances(capped[1]), [100_000n, 500_000n], 'never more than the cap')
  })

  it('refuses readings it must not take: replayed, not the meter’s, usage going back, from the future', async () => {
    const other = createOracleKey('p256')
    const out = await run([
      pay(0n, [10n]),
      step('replay', 1n, (ctx) => codec.pay(ctx.params.chainId, 1n, [20n], ctx.env.timestamp)),
      pay(1n, [20n], other),
      pay(1n, [5n]),
      step('future', 1n, (ctx) => codec.pay(ctx.params.chainId, 2n, [20n], ctx.env.timestamp + 60n)),
      close(0n, 1n),
    ])
    assert.match(reverted(out[1]), /^Replay\(1, 1\)$/)
    assert.match(reverted(out[2]), new RegExp(`^UnknownMeter\\("${getSignerId(other)}"\\)$`, 'i'))
    assert.match(reverted(out[3]), /^UsageDecreased\(5, 10\)$/)
    assert.match(reverted(out[4]), /^ReadingFromFuture\(/)
    assert.match(
      reverted(out[5]),
      /^TooEarlyToClose\(/,
      'the consumer waits closeGrace after the last paid reading',
    )
  })

  it('gets a clean bill from the checker (given and random sequences, shrinking on)', async () => {
    const r = await checkApp(subject, { runs: 12, seed: 7 })
    assert.deepEqual(r.findings, [])
    assert(r.gas.pay !== undefined && r.gas.pay.count > 0)
  })
})
