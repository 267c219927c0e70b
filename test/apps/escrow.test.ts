import assert from 'node:assert/strict'
import { encodeAbiParameters, type Address, type Hex } from 'viem'
import type { Env, State } from '../../engine/channel/types.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition, type StepResult } from '../../engine/sandbox/runTransition.ts'
import {
  decodeEscrowData,
  escrowActions,
  escrowApp,
  signRuling,
  type EscrowData,
} from '../../apps/escrow/escrowClient.ts'
import { escrowChannel, fixedEnv, testAddresses } from '../support/channel.ts'
import { createGasLog, expectAppError, expectState, rawRevert } from './appFixtures.ts'

const ch = escrowChannel({ deposit: 1_000n })
const deadline = fixedEnv.timestamp + 3_600n
const afterDeadline: Env = { blockNumber: fixedEnv.blockNumber + 300n, timestamp: deadline }
const payee = testAddresses[1] as Address

/** The arbiter's (or anyone's) signed ruling for escrow `escrowId` of this channel. */
const ruling = (
  toPayee: boolean,
  over: { escrowId?: bigint; key?: Hex; signedToPayee?: boolean; channelId?: Hex } = {},
): Hex =>
  escrowActions.ruling(
    toPayee,
    signRuling(
      ch.params,
      over.channelId ?? ch.channelId,
      over.escrowId ?? 0n,
      over.signedToPayee ?? toPayee,
      over.key ?? ch.arbiterKey,
    ),
  )

describe('apps: Escrow in the sandbox', () => {
  let sandbox: Sandbox
  let funded: State // 400 in escrow, escrow 0
  let settled: State // escrow 0 released to the payee; idle, escrowId 1
  const gas = createGasLog()
  const step = (from: State, mover: bigint, action: Hex, at: Env = fixedEnv): Promise<StepResult> =>
    runTransition(sandbox, {
      params: ch.params,
      from,
      mover,
      action,
      env: at,
      appCode: escrowApp.code,
      appAbi: escrowApp.abi,
    })

  before(async () => {
    sandbox = await createSandbox()
    funded = expectState(await step(ch.initial, 0n, escrowActions.fund(400n, deadline)))
    settled = expectState(await step(funded, 0n, escrowActions.release()))
  })
  after(() => gas.print('Escrow'))

  type Expect =
    | { balances: readonly bigint[]; isFinal: boolean; data: Partial<EscrowData> }
    | { error: string; args?: readonly unknown[] }
  type Row = { name: string; from: () => State; mover: bigint; action: () => Hex; env?: Env; expect: Expect }
  const idle = () => ch.initial
  const isFunded = () => funded
  const idleAfter = { funded: false, amount: 0n, deadline: 0n, escrowId: 1n }

  const table: Row[] = [
    // ---- happy paths
    {
      name: 'the payer funds: the amount stays in its balance, locked',
      from: idle,
      mover: 0n,
      action: () => escrowActions.fund(400n, deadline),
      expect: {
        balances: [1_000n, 0n],
        isFinal: false,
        data: { funded: true, amount: 400n, deadline, escrowId: 0n },
      },
    },
    {
      name: 'the payer releases: the amount goes to the payee',
      from: isFunded,
      mover: 0n,
      action: escrowActions.release,
      expect: { balances: [600n, 400n], isFinal: false, data: idleAfter },
    },
    {
      name: 'an arbiter ruling for the payee pays the payee',
      from: isFunded,
      mover: 1n,
      action: () => ruling(true),
      expect: { balances: [600n, 400n], isFinal: false, data: idleAfter },
    },
    {
      name: 'an arbiter ruling for the payer refunds the payer',
      from: isFunded,
      mover: 0n,
      action: () => ruling(false),
      expect: { balances: [1_000n, 0n], isFinal: false, data: idleAfter },
    },
    {
      name: 'a refund at the deadline returns the amount to the payer',
      from: isFunded,
      mover: 0n,
      action: escrowActions.refund,
      env: afterDeadline,
      expect: { balances: [1_000n, 0n], isFinal: false, data: idleAfter },
    },
    {
      name: 'a second escrow after settlement',
      from: () => settled,
      mover: 0n,
      action: () => escrowActions.fund(600n, deadline),
      expect: { balances: [600n, 400n], isFinal: false, data: { funded: true, amount: 600n, escrowId: 1n } },
    },
    {
      name: 'the whole balance may be put in escrow',
      from: idle,
      mover: 0n,
      action: () => escrowActions.fund(1_000n, deadline),
      expect: { balances: [1_000n, 0n], isFinal: false, data: { funded: true, amount: 1_000n } },
    },
    {
      name: 'an idle channel is closed: final',
      from: () => settled,
      mover: 1n,
      action: escrowActions.close,
      expect: { balances: [600n, 400n], isFinal: true, data: { funded: false, escrowId: 1n } },
    },

    // ---- wrong mover
    {
      name: 'the payee cannot fund',
      from: idle,
      mover: 1n,
      action: () => escrowActions.fund(400n, deadline),
      expect: { error: 'NotPayer', args: [1n] },
    },
    {
      name: 'the payee cannot release to itself',
      from: isFunded,
      mover: 1n,
      action: escrowActions.release,
      expect: { error: 'NotPayer', args: [1n] },
    },

    // ---- forged or misapplied rulings
    {
      name: 'a ruling signed by the payee (not the arbiter)',
      from: isFunded,
      mover: 1n,
      action: () => ruling(true, { key: ch.payeeKey }),
      expect: { error: 'NotArbiter', args: [payee] },
    },
    {
      name: 'a ruling for another escrowId',
      from: isFunded,
      mover: 1n,
      action: () => ruling(true, { escrowId: 1n }),
      expect: { error: 'NotArbiter' },
    },
    {
      name: 'a ruling for another channel',
      from: isFunded,
      mover: 1n,
      action: () => ruling(true, { channelId: getChannelId({ ...ch.params, nonce: 2n }) }),
      expect: { error: 'NotArbiter' },
    },
    {
      name: 'a ruling for the payer turned into one for the payee',
      from: isFunded,
      mover: 1n,
      action: () => ruling(true, { signedToPayee: false }),
      expect: { error: 'NotArbiter' },
    },
    {
      name: 'a ruling with a malformed signature',
      from: isFunded,
      mover: 1n,
      action: () => escrowActions.ruling(true, '0x1234'),
      expect: { error: 'BadSignatureLength', args: [2n] },
    },
    {
      name: 'a ruling with nothing in escrow',
      from: idle,
      mover: 1n,
      action: () => ruling(true),
      expect: { error: 'NotFunded' },
    },

    // ---- funding
    {
      name: 'overspend: more than the payer holds',
      from: idle,
      mover: 0n,
      action: () => escrowActions.fund(1_001n, deadline),
      expect: { error: 'Overspend', args: [1_001n, 1_000n] },
    },
    {
      name: 'a zero amount',
      from: idle,
      mover: 0n,
      action: () => escrowActions.fund(0n, deadline),
      expect: { error: 'ZeroAmount' },
    },
    {
      name: 'funding twice',
      from: isFunded,
      mover: 0n,
      action: () => escrowActions.fund(100n, deadline),
      expect: { error: 'AlreadyFunded' },
    },
    {
      name: 'a deadline that is not in the future',
      from: idle,
      mover: 0n,
      action: () => escrowActions.fund(400n, fixedEnv.timestamp),
      expect: { error: 'DeadlineInPast', args: [fixedEnv.timestamp, fixedEnv.timestamp] },
    },

    // ---- refund, release, close
    {
      name: 'an early refund (one second before the deadline)',
      from: isFunded,
      mover: 0n,
      action: escrowActions.refund,
      env: { ...afterDeadline, timestamp: deadline - 1n },
      expect: { error: 'DeadlineNotReached', args: [deadline, deadline - 1n] },
    },
    {
      name: 'a refund with nothing in escrow',
      from: idle,
      mover: 0n,
      action: escrowActions.refund,
      env: afterDeadline,
      expect: { error: 'NotFunded' },
    },
    {
      name: 'a release with nothing in escrow',
      from: idle,
      mover: 0n,
      action: escrowActions.release,
      expect: { error: 'NotFunded' },
    },
    {
      name: 'closing while funded',
      from: isFunded,
      mover: 0n,
      action: escrowActions.close,
      expect: { error: 'AlreadyFunded' },
    },
    {
      name: 'an unknown action',
      from: idle,
      mover: 0n,
      action: () => encodeAbiParameters([{ type: 'uint8' }, { type: 'bytes' }], [5, '0x']),
      expect: { error: 'UnknownAction', args: [5] },
    },
  ]

  for (const row of table) {
    it(row.name, async () => {
      const from = row.from()
      const r = await step(from, row.mover, row.action(), row.env ?? fixedEnv)
      if ('error' in row.expect) return expectAppError(r, row.expect.error, row.expect.args)
      const s = expectState(r)
      gas.note(row.name, r)
      assert.deepEqual(s.balances, row.expect.balances)
      assert.equal(s.isFinal, row.expect.isFinal)
      assert.equal(s.version, from.version + 1n)
      const d = decodeEscrowData(s.appData)
      for (const [k, v] of Object.entries(row.expect.data)) assert.deepEqual(d[k as keyof EscrowData], v, k)
      assert.deepEqual([d.payer, d.payee, d.arbiter], [0, 1, testAddresses[2]])
    })
  }

  it('no step after final: the engine refuses a final base, the app reverts AlreadyFinal', async () => {
    const closed = expectState(await step(settled, 0n, escrowActions.close()))
    const r = await step(closed, 0n, escrowActions.fund(100n, deadline))
    assert.equal(r.ok, false)
    if (!r.ok) assert.equal(r.reason, 'final-state')
    assert.equal(
      await rawRevert(
        sandbox,
        escrowApp,
        ch.params,
        closed,
        0n,
        escrowActions.fund(100n, deadline),
        fixedEnv,
      ),
      'AlreadyFinal',
    )
    assert.equal(
      await rawRevert(sandbox, escrowApp, ch.params, funded, 2n, escrowActions.release(), fixedEnv),
      'InvalidMover',
    )
  })

  it('a ruling settles one escrow only: replayed on the next escrow it is refused', async () => {
    const r0 = ruling(true)
    const afterRuling = expectState(await step(funded, 1n, r0))
    const next = expectState(await step(afterRuling, 0n, escrowActions.fund(300n, deadline)))
    assert.equal(decodeEscrowData(next.appData).escrowId, 1n)
    expectAppError(await step(next, 1n, r0), 'NotArbiter')
  })

  it('gas per step stays within budget', () => {
    const fund = gas.entries.get('the payer funds: the amount stays in its balance, locked')
    const rule = gas.entries.get('an arbiter ruling for the payee pays the payee')
    assert.ok(fund !== undefined && fund < 30_000n)
    assert.ok(rule !== undefined && rule < 40_000n)
  })
})
