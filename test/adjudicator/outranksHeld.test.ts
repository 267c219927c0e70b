// The outranking rule in TypeScript (`outranksHeld`) against the contract: records of random shape
// are built on anvil through real register / forceProgress sequences (forced chains of several
// steps, some in one transaction, bases registered inside forceProgress), and after every call a
// co-signed state of a random version must be accepted exactly when `outranksHeld` says so.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Hex } from 'viem'
import { decodeEscrowData, escrowActions } from '../../apps/escrow/escrowClient.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { getChannelRecord, type ChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { outranksHeld, type HeldRecord } from '../../engine/adjudicator/outranksHeld.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { AdjudicatorRevertError } from '../../engine/adjudicator/toAdjudicatorError.ts'
import { getChannelId, type ChannelParams, type State } from '../../engine/channel/index.ts'
import { runTransition } from '../../engine/sandbox/index.ts'
import { startChainFixture, type ChainFixture, type ForcedStep } from '../support/anvilFixture.ts'

const BAL = [600n, 400n] as const

type Op =
  | { kind: 'register'; v: bigint }
  | { kind: 'force'; n: number }
  | { kind: 'forceWithSigs'; v: bigint; n: number }
  | { kind: 'concludeFinal'; v: bigint }

const version = fc.bigInt({ min: 0n, max: 9n })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('register' as const), v: version }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('force' as const), n: fc.integer({ min: 1, max: 3 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('forceWithSigs' as const),
      v: version,
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('concludeFinal' as const), v: version }) },
)

describe('outranksHeld agrees with the Adjudicator (property, on anvil)', function () {
  let f: ChainFixture
  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    await f?.stop()
  })

  it('without a chain: open outranks, concluded never, a dispute iff the version is above the base', () => {
    const rows: [HeldRecord, bigint, boolean][] = [
      [{ status: 'open', version: 0n, baseVersion: 0n }, 0n, true],
      [{ status: 'concluded', version: 3n, baseVersion: 3n }, 9n, false],
      [{ status: 'disputed', version: 3n, baseVersion: 3n }, 3n, false],
      [{ status: 'disputed', version: 3n, baseVersion: 3n }, 4n, true],
      [{ status: 'disputed', version: 7n, baseVersion: 2n }, 3n, true],
      [{ status: 'disputed', version: 7n, baseVersion: 2n }, 2n, false],
      [{ status: 'disputed', version: 7n, baseVersion: 2n }, 8n, true],
    ]
    for (const [rec, v, want] of rows)
      assert.equal(
        outranksHeld(rec, v),
        want,
        `${JSON.stringify(rec, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}` : x))} vs ${v}`,
      )
  })

  /** Co-signed state of version v (idle escrow; `escrowId` = v keeps states of the same version apart from forced ones). */
  const cosigned = (params: ChannelParams, v: bigint, isFinal = false) =>
    f.cosign(params, f.state(params, v, BAL, { escrowId: v }, isFinal))

  /** Alice's next move: FUND 1 wei when idle, RELEASE when funded. */
  const move = (s: State): Hex =>
    decodeEscrowData(s.appData).funded ? escrowActions.release() : escrowActions.fund(1n, 10n ** 12n)

  /** `n` forced steps from `from`, precomputed in the sandbox (FUND with a far deadline and RELEASE do not read the Env). */
  async function plan(
    params: ChannelParams,
    from: State,
    n: number,
    fromSignatures?: readonly Hex[],
  ): Promise<{ steps: ForcedStep[]; last: State }> {
    const steps: ForcedStep[] = []
    let s = from
    for (let i = 0; i < n; i++) {
      const action = move(s)
      steps.push({
        from: s,
        ...(i === 0 && fromSignatures !== undefined ? { fromSignatures } : {}),
        mover: 0n,
        action,
        moverSignature: signMove(params, s, 0n, action, f.alice.privateKey),
      })
      const r = await runTransition(f.sandbox, {
        params,
        from: s,
        mover: 0n,
        action,
        env: { blockNumber: 1n, timestamp: 1n },
        appCode: Escrow.deployedBytecode,
      })
      assert(r.ok, r.ok ? '' : r.message)
      s = r.state
    }
    return { steps, last: s }
  }

  /** Runs a call that takes a co-signed state; returns whether the chain accepted it and checks a refusal is the rule's. */
  async function accepted(rec: ChannelRecord, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call()
      return true
    } catch (e) {
      assert(e instanceof AdjudicatorRevertError, String(e))
      assert.equal(e.errorName, rec.status === 'concluded' ? 'ChannelConcluded' : 'StaleVersion', e.message)
      return false
    }
  }

  it('after random register / forceProgress sequences, a co-signed state is accepted iff outranksHeld (register, forceProgress with signatures, concludeFinal)', async function () {
    this.timeout(600_000)
    let checks = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 5 }), op, async (ops, probe) => {
        // A long challenge: no deadline passes during a run, so only the outranking rule decides.
        const params = f.escrowParams({ challengeDuration: 1_000_000n })
        const id = getChannelId(params)
        // Each participant's opening balance deposited (forceProgress from version 0 needs it).
        await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: BAL[0] })
        await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: BAL[1] })
        const model = { status: 'open' as ChannelRecord['status'], version: 0n, baseVersion: 0n }
        let heldState: State | undefined
        for (const o of [...ops, probe]) {
          const rec = await getChannelRecord(f.alice.client, id)
          assert.deepEqual(
            [rec.status, rec.version, rec.baseVersion, rec.forced],
            [model.status, model.version, model.baseVersion, model.version > model.baseVersion],
            'the record follows the model',
          )
          if (o.kind === 'force') {
            if (rec.status !== 'disputed' || heldState === undefined) continue
            const { steps, last } = await plan(params, heldState, o.n)
            await f.forceMany(f.alice.client, params, steps)
            Object.assign(model, { version: last.version })
            heldState = last
            continue
          }
          const want = outranksHeld(rec, o.v)
          let got: boolean
          if (o.kind === 'register') {
            const signed = cosigned(params, o.v)
            got = await accepted(rec, () => register(f.bob.client, { params, signed }))
            if (got) heldState = signed.state
            if (got) Object.assign(model, { status: 'disputed', version: o.v, baseVersion: o.v })
          } else if (o.kind === 'forceWithSigs') {
            const signed = cosigned(params, o.v)
            const { steps, last } = await plan(params, signed.state, o.n, signed.signatures)
            got = await accepted(rec, () => f.forceMany(f.alice.client, params, steps))
            if (got) heldState = last
            if (got) Object.assign(model, { status: 'disputed', version: last.version, baseVersion: o.v })
          } else {
            const signed = cosigned(params, o.v, true)
            got = await accepted(rec, () => concludeFinal(f.carol.client, { params, signed }))
            if (got) Object.assign(model, { status: 'concluded', version: o.v, baseVersion: o.v })
          }
          assert.equal(
            got,
            want,
            `${o.kind} of v${o.v} on ${rec.status} v${rec.version} (base ${rec.baseVersion}): chain ${got}, outranksHeld ${want}`,
          )
          checks++
        }
      }),
      { numRuns: 30 },
    )
    assert(checks >= 30, `${checks} comparisons`)
  })
})
