import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeAbiParameters, type Hex } from 'viem'
import type { Env, State } from '../../engine/channel/types.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition, type StepResult } from '../../engine/sandbox/runTransition.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty, type Party, type PartyEvent } from '../../engine/protocol/createParty.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { OracleKey, SignedReading } from '../../oracles/message/types.ts'
import {
  coldChainActions,
  coldChainApp,
  decodeColdChainData,
  encodeColdChainData,
  initialColdChainData,
  temperatureReading,
  type ColdChainPolicy,
} from '../../apps/coldChain/coldChainClient.ts'
import { testAddresses } from '../support/channel.ts'
import {
  appChannel,
  createGasLog,
  createLyingSandbox,
  expectAppError,
  expectState,
  oracleKeys,
  rawRevert,
} from './appFixtures.ts'

const chainId = 31337n
const t0 = 1_700_000_000n
const PERIOD = 3_600n
const WINDOW = 600n
const IN = -18_000n // -18 °C, inside [-25 °C, -15 °C]
const HOT = -5_000n
const COLD = -30_000n
const payEnv: Env = { blockNumber: 100n, timestamp: t0 }
const reportEnv: Env = { blockNumber: 130n, timestamp: t0 + 1_800n }
const windowEnv: Env = { blockNumber: 160n, timestamp: t0 + PERIOD + 100n } // after coverage, inside the claim window
const closableEnv: Env = { blockNumber: 170n, timestamp: t0 + PERIOD + WINDOW }

const termsFor = (device: Hex) => ({
  owner: 0,
  insurer: 1,
  device,
  minValue: -25_000n,
  maxValue: -15_000n,
  runLength: 3,
  premium: 10n,
  insuredSum: 500n,
  periodSeconds: PERIOD,
  maxPeriods: 3n,
  claimWindow: WINDOW,
})

const withData = (state: State, change: Partial<ColdChainPolicy>): State => ({
  ...state,
  appData: encodeColdChainData({ ...decodeColdChainData(state.appData), ...change }),
})

for (const curve of ['secp256k1', 'p256'] as const) {
  const key: OracleKey = curve === 'p256' ? oracleKeys.p256a : oracleKeys.k1a
  const other: OracleKey = curve === 'p256' ? oracleKeys.p256b : oracleKeys.k1b
  const device = getSignerId(key)
  const terms = termsFor(device)
  const ch = appChannel({ app: coldChainApp, appData: initialColdChainData(terms), balances: [100n, 1_000n] })

  /** Reading `seq` of the thermometer, a minute apart from t0 by default. */
  const reading = (
    seq: bigint,
    milliCelsius: bigint,
    over: { timestamp?: bigint; kind?: string; unit?: string; key?: OracleKey; device?: Hex } = {},
  ): SignedReading => {
    const base = temperatureReading({
      device: over.device ?? device,
      sequence: seq,
      timestamp: over.timestamp ?? t0 + seq * 60n,
      milliCelsius,
    })
    return signReading({
      chainId,
      key: over.key ?? key,
      reading: {
        ...base,
        ...(over.kind === undefined ? {} : { kind: textToBytes32(over.kind) }),
        ...(over.unit === undefined ? {} : { unit: textToBytes32(over.unit) }),
      },
    })
  }

  describe(`apps: ColdChainInsurance in the sandbox (${curve} thermometer)`, () => {
    let sandbox: Sandbox
    let covered: State // one premium paid at t0: coverage [t0, t0 + 1 h)
    let run2: State // covered, then two readings out of range
    let reset: State // covered, then out, out, in: the run was reset
    const gas = createGasLog()
    const step = (from: State, mover: bigint, action: Hex, at: Env = reportEnv): Promise<StepResult> =>
      runTransition(sandbox, {
        params: ch.params,
        from,
        mover,
        action,
        env: at,
        appCode: coldChainApp.code,
        appAbi: coldChainApp.abi,
      })

    before(async () => {
      sandbox = await createSandbox()
      covered = expectState(await step(ch.initial, 0n, coldChainActions.payPremium(), payEnv))
      run2 = expectState(
        await step(covered, 0n, coldChainActions.report([reading(1n, HOT), reading(2n, HOT)])),
      )
      reset = expectState(
        await step(
          covered,
          0n,
          coldChainActions.report([reading(1n, HOT), reading(2n, HOT), reading(3n, IN)]),
        ),
      )
    })
    after(() => gas.print(`ColdChainInsurance, ${curve}`))

    type Expect =
      | { balances: readonly bigint[]; isFinal: boolean; data: Partial<ColdChainPolicy> }
      | { error: string; args?: readonly unknown[] }
    type Row = {
      name: string
      from: () => State
      mover: bigint
      action: () => Hex
      env?: Env
      expect: Expect
    }

    const fresh = () => ch.initial
    const cov = () => covered
    const paidOut = { balances: [590n, 510n], isFinal: true }
    const forgedError = curve === 'p256' ? 'P256InvalidSignature' : 'WrongSigner'
    const table: Row[] = [
      // ---- premiums
      {
        name: 'the owner pays a premium: it moves to the insurer and coverage starts now',
        from: fresh,
        mover: 0n,
        action: coldChainActions.payPremium,
        env: payEnv,
        expect: {
          balances: [90n, 1_010n],
          isFinal: false,
          data: { periodsPaid: 1n, coverageStart: t0, coverageEnd: t0 + PERIOD },
        },
      },
      {
        name: 'a premium paid while covered extends the coverage',
        from: cov,
        mover: 0n,
        action: coldChainActions.payPremium,
        expect: {
          balances: [80n, 1_020n],
          isFinal: false,
          data: { periodsPaid: 2n, coverageStart: t0, coverageEnd: t0 + 2n * PERIOD },
        },
      },
      {
        name: 'a premium after a lapse starts coverage anew and ends the old run',
        from: () => run2,
        mover: 0n,
        action: coldChainActions.payPremium,
        env: { blockNumber: 200n, timestamp: t0 + 5_000n },
        expect: {
          balances: [80n, 1_020n],
          isFinal: false,
          data: {
            periodsPaid: 2n,
            coverageStart: t0 + 5_000n,
            coverageEnd: t0 + 5_000n + PERIOD,
            run: 0,
            lastSequence: 2n,
          },
        },
      },
      {
        name: 'the insurer cannot pay the premium',
        from: fresh,
        mover: 1n,
        action: coldChainActions.payPremium,
        env: payEnv,
        expect: { error: 'NotOwner', args: [1n] },
      },
      {
        name: 'a premium above the owner balance',
        from: () => ({ ...ch.initial, balances: [5n, 1_095n] }),
        mover: 0n,
        action: coldChainActions.payPremium,
        env: payEnv,
        expect: { error: 'Overspend', args: [10n, 5n] },
      },
      {
        name: 'no premium to an insurer that cannot pay the insured sum',
        from: () => ({ ...ch.initial, balances: [700n, 400n] }),
        mover: 0n,
        action: coldChainActions.payPremium,
        env: payEnv,
        expect: { error: 'InsurerUnderfunded', args: [500n, 400n] },
      },
      {
        name: 'no premium beyond the policy term',
        from: () => withData(covered, { periodsPaid: 3n }),
        mover: 0n,
        action: coldChainActions.payPremium,
        expect: { error: 'TermExhausted', args: [3n] },
      },

      // ---- readings
      {
        name: 'an in-range reading is taken: sequence stored, no run',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, IN)]),
        expect: { balances: [90n, 1_010n], isFinal: false, data: { lastSequence: 1n, run: 0 } },
      },
      {
        name: 'min and max are in range (inclusive)',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, -25_000n), reading(2n, -15_000n)]),
        expect: { balances: [90n, 1_010n], isFinal: false, data: { lastSequence: 2n, run: 0 } },
      },
      {
        name: 'two readings out of range: a run of 2, no payout yet',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT), reading(2n, COLD)]),
        expect: { balances: [90n, 1_010n], isFinal: false, data: { lastSequence: 2n, run: 2 } },
      },
      {
        name: 'three consecutive readings out of range pay the insured sum, final',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT), reading(2n, COLD), reading(3n, HOT)]),
        expect: { ...paidOut, data: { lastSequence: 3n, run: 3, claimed: true } },
      },
      {
        name: 'a run completed across two reports pays out',
        from: () => run2,
        mover: 0n,
        action: () => coldChainActions.report([reading(3n, HOT)]),
        expect: { ...paidOut, data: { lastSequence: 3n, run: 3, claimed: true } },
      },
      {
        name: 'an in-range reading resets the run',
        from: cov,
        mover: 0n,
        action: () =>
          coldChainActions.report([reading(1n, HOT), reading(2n, HOT), reading(3n, IN), reading(4n, HOT)]),
        expect: { balances: [90n, 1_010n], isFinal: false, data: { lastSequence: 4n, run: 1 } },
      },
      {
        name: 'a gap in the sequence resets the run (the skipped reading may have been in range)',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT), reading(2n, HOT), reading(4n, HOT)]),
        expect: { balances: [90n, 1_010n], isFinal: false, data: { lastSequence: 4n, run: 1 } },
      },
      {
        name: 'after coverage, inside the claim window, covered readings still count',
        from: () => run2,
        mover: 0n,
        action: () => coldChainActions.report([reading(3n, HOT, { timestamp: t0 + PERIOD - 1n })]),
        env: windowEnv,
        expect: { ...paidOut, data: { claimed: true } },
      },
      {
        name: 'the insurer cannot report',
        from: cov,
        mover: 1n,
        action: () => coldChainActions.report([reading(1n, IN)]),
        expect: { error: 'NotOwner', args: [1n] },
      },
      {
        name: 'an empty report',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([]),
        expect: { error: 'NoReadings' },
      },
      {
        name: 'a reading from another thermometer',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT, { key: other, device: getSignerId(other) })]),
        expect: { error: 'UnknownDevice', args: [getSignerId(other)] },
      },
      {
        name: 'a reading that names the thermometer but is signed by another key',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT, { key: other })]),
        expect: { error: 'WrongSigner', args: [device, getSignerId(other)] },
      },
      {
        name: 'a reading of another kind',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT, { kind: 'humidity' })]),
        expect: { error: 'WrongKind', args: [textToBytes32('humidity')] },
      },
      {
        name: 'a reading in another unit',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, 5n, { unit: 'C' })]),
        expect: { error: 'WrongUnit', args: [textToBytes32('C')] },
      },
      {
        name: 'a replayed reading (same sequence again)',
        from: () => run2,
        mover: 0n,
        action: () => coldChainActions.report([reading(2n, HOT)]),
        expect: { error: 'Replay', args: [2n, 2n] },
      },
      {
        name: 'readings out of order within one report',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(2n, HOT), reading(1n, HOT)]),
        expect: { error: 'Replay', args: [1n, 2n] },
      },
      {
        name: 'the owner replays old excursion readings after the run was reset',
        from: () => reset,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT), reading(2n, HOT), reading(4n, HOT)]),
        expect: { error: 'Replay', args: [1n, 3n] },
      },
      {
        name: 'a reading dated after env.timestamp',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT, { timestamp: reportEnv.timestamp + 1n })]),
        expect: { error: 'ReadingFromFuture', args: [reportEnv.timestamp + 1n, reportEnv.timestamp] },
      },
      {
        name: 'a reading from before coverage started',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT, { timestamp: t0 - 1n })]),
        expect: { error: 'NotCovered', args: [t0 - 1n, t0, t0 + PERIOD] },
      },
      {
        name: 'a reading from after coverage ended',
        from: cov,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT, { timestamp: t0 + PERIOD })]),
        env: windowEnv,
        expect: { error: 'NotCovered', args: [t0 + PERIOD, t0, t0 + PERIOD] },
      },
      {
        name: 'a reading with no premium paid',
        from: fresh,
        mover: 0n,
        action: () => coldChainActions.report([reading(1n, HOT)]),
        expect: { error: 'NotCovered', args: [t0 + 60n, 0n, 0n] },
      },
      {
        name: 'a reading from the lapse, after coverage was bought again',
        from: () => withData(run2, { coverageStart: t0 + 5_000n, coverageEnd: t0 + 5_000n + PERIOD, run: 0 }),
        mover: 0n,
        action: () => coldChainActions.report([reading(3n, HOT, { timestamp: t0 + 4_000n })]),
        env: { blockNumber: 300n, timestamp: t0 + 6_000n },
        expect: { error: 'NotCovered', args: [t0 + 4_000n, t0 + 5_000n, t0 + 5_000n + PERIOD] },
      },
      {
        name: 'the owner turns an in-range reading into an excursion (value altered after signing)',
        from: () => run2,
        mover: 0n,
        action: () => {
          const r = reading(3n, IN)
          return coldChainActions.report([{ ...r, reading: { ...r.reading, value: HOT } }])
        },
        expect: { error: forgedError },
      },
      {
        name: 'readings after the payout in the same report',
        from: cov,
        mover: 0n,
        action: () =>
          coldChainActions.report([reading(1n, HOT), reading(2n, HOT), reading(3n, HOT), reading(4n, IN)]),
        expect: { error: 'ReadingAfterClaim', args: [4n] },
      },

      // ---- closing
      {
        name: 'the owner may close during coverage (giving up the cover)',
        from: cov,
        mover: 0n,
        action: coldChainActions.close,
        expect: { balances: [90n, 1_010n], isFinal: true, data: { claimed: false } },
      },
      {
        name: 'the insurer closes once coverage and the claim window are over',
        from: () => run2,
        mover: 1n,
        action: coldChainActions.close,
        env: closableEnv,
        expect: { balances: [90n, 1_010n], isFinal: true, data: { claimed: false, run: 2 } },
      },
      {
        name: 'the insurer closes a policy that was never paid',
        from: fresh,
        mover: 1n,
        action: coldChainActions.close,
        env: payEnv,
        expect: { balances: [100n, 1_000n], isFinal: true, data: { periodsPaid: 0n } },
      },
      {
        name: 'the insurer cannot close during coverage',
        from: cov,
        mover: 1n,
        action: coldChainActions.close,
        expect: { error: 'CoverageActive', args: [t0 + PERIOD + WINDOW, reportEnv.timestamp] },
      },
      {
        name: 'the insurer cannot close inside the claim window',
        from: () => run2,
        mover: 1n,
        action: coldChainActions.close,
        env: windowEnv,
        expect: { error: 'CoverageActive', args: [t0 + PERIOD + WINDOW, windowEnv.timestamp] },
      },
      {
        name: 'an unknown action',
        from: cov,
        mover: 0n,
        action: () => encodeAbiParameters([{ type: 'uint8' }, { type: 'bytes' }], [7, '0x']),
        expect: { error: 'UnknownAction', args: [7] },
      },
    ]

    for (const row of table) {
      it(row.name, async () => {
        const from = row.from()
        const r = await step(from, row.mover, row.action(), row.env ?? reportEnv)
        if ('error' in row.expect) return expectAppError(r, row.expect.error, row.expect.args)
        const s = expectState(r)
        gas.note(row.name, r)
        assert.deepEqual(s.balances, row.expect.balances)
        assert.equal(s.isFinal, row.expect.isFinal)
        assert.equal(s.version, from.version + 1n)
        const d = decodeColdChainData(s.appData)
        for (const [k, v] of Object.entries(row.expect.data))
          assert.deepEqual(d[k as keyof ColdChainPolicy], v, k)
        for (const [k, v] of Object.entries(terms))
          assert.deepEqual(d[k as keyof ColdChainPolicy], v, `term ${k} never changes`)
      })
    }

    it('no step follows a payout: the engine refuses a final base, the app reverts AlreadyFinal', async () => {
      const claimed = expectState(await step(run2, 0n, coldChainActions.report([reading(3n, HOT)])))
      const again = await step(claimed, 0n, coldChainActions.report([reading(4n, HOT)]))
      assert.equal(again.ok, false)
      if (!again.ok) assert.equal(again.reason, 'final-state')
      assert.equal(
        await rawRevert(
          sandbox,
          coldChainApp,
          ch.params,
          claimed,
          0n,
          coldChainActions.report([reading(4n, HOT)]),
          reportEnv,
        ),
        'AlreadyFinal',
      )
      assert.equal(
        await rawRevert(
          sandbox,
          coldChainApp,
          ch.params,
          covered,
          5n,
          coldChainActions.payPremium(),
          reportEnv,
        ),
        'InvalidMover',
      )
    })

    it('the payout follows the model: a run of 3 consecutive out-of-range readings, reset by in-range readings and gaps', async () => {
      // Pre-signed readings 1..8, each in range and out of range.
      const signed = new Map<string, SignedReading>()
      for (let s = 1n; s <= 8n; s++) {
        signed.set(`${s}:in`, reading(s, IN))
        signed.set(`${s}:out`, reading(s, HOT))
      }
      const pick = fc.record({ skip: fc.boolean(), out: fc.boolean() })
      await fc.assert(
        fc.asyncProperty(fc.array(pick, { minLength: 1, maxLength: 6 }), async (picks) => {
          let seq = 0n
          let run = 0
          let last = 0n
          let claimedAt: bigint | undefined
          let expectedError: string | undefined
          const readings: SignedReading[] = []
          for (const p of picks) {
            seq += p.skip ? 2n : 1n
            if (seq > 8n) break
            readings.push(signed.get(`${seq}:${p.out ? 'out' : 'in'}`) as SignedReading)
            if (claimedAt !== undefined) {
              expectedError ??= 'ReadingAfterClaim'
              continue
            }
            run = p.out ? (seq === last + 1n ? run + 1 : 1) : 0
            last = seq
            if (run >= 3) claimedAt = seq
          }
          if (readings.length === 0) return
          const r = await step(covered, 0n, coldChainActions.report(readings))
          if (expectedError !== undefined) return expectAppError(r, expectedError)
          const s = expectState(r)
          const d = decodeColdChainData(s.appData)
          assert.equal(s.isFinal, claimedAt !== undefined)
          assert.deepEqual(s.balances, claimedAt !== undefined ? [590n, 510n] : [90n, 1_010n])
          assert.equal(d.run, run)
          assert.equal(d.lastSequence, last)
        }),
        { numRuns: 30, seed: 7 },
      )
    })

    it('gas per step stays within budget (these steps also run on chain in forceProgress)', () => {
      const g = (name: string) => {
        const v = gas.entries.get(name)
        assert.ok(v !== undefined, `no gas recorded for ${name}`)
        return v
      }
      assert.ok(g('the owner pays a premium: it moves to the insurer and coverage starts now') < 30_000n)
      assert.ok(g('an in-range reading is taken: sequence stored, no run') < 40_000n)
      assert.ok(g('three consecutive readings out of range pay the insured sum, final') < 90_000n)
    })
  })
}

describe('apps: ColdChainInsurance between two parties (createParty + memory hub)', () => {
  it('the owner refuses an early close, the insurer refuses a replayed excursion, then a real run pays out', async () => {
    const key = oracleKeys.p256a
    const device = getSignerId(key)
    const ch = appChannel({
      app: coldChainApp,
      appData: initialColdChainData(termsFor(device)),
      balances: [100n, 1_000n],
    })
    const read = (seq: bigint, v: bigint) =>
      signReading({
        chainId,
        key,
        reading: temperatureReading({ device, sequence: seq, timestamp: t0 + seq * 60n, milliCelsius: v }),
      })
    let now: Env = payEnv
    const clock = () => now
    const hub = createMemoryHub()
    const ownerSandbox = createLyingSandbox(await createSandbox())
    const insurerSandbox = createLyingSandbox(await createSandbox())
    const ownerEvents: PartyEvent[] = []
    const insurerEvents: PartyEvent[] = []
    const owner: Party = await createParty({
      signer: createKeySigner(ch.keys[0]),
      requireFunding: false,
      transport: hub.connect(testAddresses[0] as Hex),
      store: createMemoryStore(),
      sandbox: ownerSandbox,
      apps: [coldChainApp],
      clock,
      onEvent: (e) => ownerEvents.push(e),
    })
    const insurer: Party = await createParty({
      signer: createKeySigner(ch.keys[1]),
      requireFunding: false,
      transport: hub.connect(testAddresses[1] as Hex),
      store: createMemoryStore(),
      sandbox: insurerSandbox,
      apps: [coldChainApp],
      clock,
      onEvent: (e) => insurerEvents.push(e),
    })
    const refusedWith = (r: Awaited<ReturnType<Party['update']>>, error: RegExp) => {
      assert.equal(r.ok, false)
      if (r.ok || r.reason !== 'peer-rejected')
        return assert.fail(`expected a refusal, got ${r.ok ? 'ok' : r.reason}`)
      assert.equal(r.peerReason, 'step-rejected')
      assert.match(r.message, error)
    }
    try {
      await Promise.all([owner.open(ch.params, ch.initial), insurer.open(ch.params, ch.initial)])
      assert.ok((await owner.update(ch.channelId, coldChainActions.payPremium())).ok)
      now = reportEnv
      const excursion = [read(1n, HOT), read(2n, HOT)]
      assert.ok((await owner.update(ch.channelId, coldChainActions.report([...excursion, read(3n, IN)]))).ok)
      const v2 = await insurer.waitForVersion(ch.channelId, 2n)

      // Mallory the insurer: closes during coverage, keeping the premium and the cover.
      insurerSandbox.lie({ appData: v2.state.appData, balances: v2.state.balances, isFinal: true })
      refusedWith(await insurer.update(ch.channelId, coldChainActions.close()), /CoverageActive/)
      insurerSandbox.lie(undefined)
      assert.ok(ownerEvents.some((e) => e.type === 'refused' && /CoverageActive/.test(e.message)))

      // Mallory the owner: replays the old excursion so that with one more it looks like a run of 3.
      const d = decodeColdChainData(v2.state.appData)
      ownerSandbox.lie({
        appData: encodeColdChainData({ ...d, lastSequence: 4n, run: 3, claimed: true }),
        balances: [590n, 510n],
        isFinal: true,
      })
      refusedWith(
        await owner.update(ch.channelId, coldChainActions.report([...excursion, read(4n, HOT)])),
        /Replay\(1, 3\)/,
      )
      ownerSandbox.lie(undefined)
      assert.ok(insurerEvents.some((e) => e.type === 'refused' && /Replay/.test(e.message)))
      assert.equal((await insurer.latest(ch.channelId))?.state.version, 2n, 'the insurer signed nothing new')

      // A real run of three: the insurer co-signs the payout.
      const paid = await owner.update(
        ch.channelId,
        coldChainActions.report([read(4n, HOT), read(5n, COLD), read(6n, HOT)]),
      )
      assert.ok(paid.ok)
      const final = await insurer.waitForVersion(ch.channelId, 3n)
      assert.deepEqual(final.state.balances, [590n, 510n])
      assert.equal(final.state.isFinal, true)
      assert.equal(decodeColdChainData(final.state.appData).claimed, true)
    } finally {
      await owner.close()
      await insurer.close()
    }
  })
})

describe('apps: ColdChainInsurance client', () => {
  it('refuses terms that make no sense, and starts with nothing paid', () => {
    const terms = termsFor(getSignerId(oracleKeys.k1a))
    assert.throws(() => initialColdChainData({ ...terms, insurer: 0 }), /different/)
    assert.throws(() => initialColdChainData({ ...terms, minValue: 1n, maxValue: 0n }), /minValue/)
    assert.throws(() => initialColdChainData({ ...terms, runLength: 0 }), /runLength/)
    assert.throws(() => initialColdChainData({ ...terms, insuredSum: 0n }), /insuredSum/)
    assert.throws(() => initialColdChainData({ ...terms, periodSeconds: 0n }), /periodSeconds/)
    assert.throws(
      () => initialColdChainData({ ...terms, periodSeconds: 1n << 62n, maxPeriods: 4n }),
      /overflow/,
    )
    assert.deepEqual(decodeColdChainData(initialColdChainData(terms)), {
      ...terms,
      periodsPaid: 0n,
      coverageStart: 0n,
      coverageEnd: 0n,
      lastSequence: 0n,
      run: 0,
      claimed: false,
    })
  })
})
