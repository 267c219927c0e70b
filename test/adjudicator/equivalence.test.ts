// Off-chain/on-chain equivalence: every Escrow step forced on chain here is re-run in the sandbox
// with the block's Env, and the two post-states must be the same bytes (`encodeState`), and the
// chain must hold the hash of exactly that state. `forceAndCheck` (test/support/anvilFixture.ts)
// does the comparison; the dispute and watcher suites use it for their forced steps too.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Hex } from 'viem'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { decodeEscrowData, escrowActions, signRuling } from '../../apps/escrow/escrowClient.ts'
import { estimateForceProgressGas } from '../../engine/adjudicator/estimateForceProgressGas.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { AdjudicatorRevertError } from '../../engine/adjudicator/toAdjudicatorError.ts'
import { getChannelId, type ChannelParams, type State } from '../../engine/channel/index.ts'
import { startChainFixture, type ChainFixture, type Party } from '../support/anvilFixture.ts'

describe('sandbox/chain equivalence of Escrow steps (on anvil)', function () {
  let f: ChainFixture
  before(async () => {
    f = await startChainFixture()
  })
  after(async () => {
    await f?.stop()
  })

  async function openDispute(
    balances: readonly bigint[] = [600n, 400n],
  ): Promise<{ params: ChannelParams; held: State }> {
    const params = f.escrowParams()
    const v1 = f.state(params, 1n, balances)
    await register(f.bob.client, { params, signed: f.cosign(params, v1) })
    return { params, held: v1 }
  }

  const now = async (): Promise<bigint> => (await f.alice.client.publicClient.getBlock()).timestamp

  async function step(
    params: ChannelParams,
    from: State,
    who: Party,
    mover: bigint,
    action: Hex,
  ): Promise<State> {
    const r = await f.forceAndCheck(who.client, {
      params,
      from,
      mover,
      action,
      moverSignature: signMove(params, from, mover, action, who.privateKey),
    })
    return r.state
  }

  it('every Escrow action (FUND, RULING, REFUND, RELEASE, CLOSE) gives the same bytes on chain as in the sandbox', async () => {
    const before = f.equivalenceChecks()
    const { params, held } = await openDispute()
    const id = getChannelId(params)
    let s = await step(params, held, f.alice, 0n, escrowActions.fund(100n, (await now()) + 30n))
    s = await step(
      params,
      s,
      f.bob,
      1n,
      escrowActions.ruling(false, signRuling(params, id, 0n, false, f.arbiter.privateKey)),
    )
    assert.deepEqual(s.balances, [600n, 400n])
    s = await step(params, s, f.alice, 0n, escrowActions.fund(250n, (await now()) + 20n))
    await f.increaseTime(25n)
    s = await step(params, s, f.bob, 1n, escrowActions.refund())
    s = await step(params, s, f.alice, 0n, escrowActions.fund(300n, (await now()) + 50n))
    s = await step(params, s, f.alice, 0n, escrowActions.release())
    assert.deepEqual(s.balances, [300n, 700n])
    s = await step(params, s, f.bob, 1n, escrowActions.close())
    assert.equal(s.isFinal, true)
    assert.equal(s.version, 8n)
    assert.equal(decodeEscrowData(s.appData).escrowId, 3n)
    assert.equal(f.equivalenceChecks() - before, 7)
  })

  it('random FUND amounts and settlements agree byte for byte (property, few runs: each is a chain transaction)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: 600n }),
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.constantFrom('release', 'ruling-payee', 'ruling-payer'),
        async (amount, deadlineIn, settle) => {
          const { params, held } = await openDispute()
          const id = getChannelId(params)
          const funded = await step(
            params,
            held,
            f.alice,
            0n,
            escrowActions.fund(amount, (await now()) + deadlineIn + 5n),
          )
          const action =
            settle === 'release'
              ? escrowActions.release()
              : escrowActions.ruling(
                  settle === 'ruling-payee',
                  signRuling(params, id, 0n, settle === 'ruling-payee', f.arbiter.privateKey),
                )
          const settled = await step(
            params,
            funded,
            settle === 'release' ? f.alice : f.bob,
            settle === 'release' ? 0n : 1n,
            action,
          )
          const paid = settle === 'ruling-payer' ? 0n : amount
          assert.deepEqual(settled.balances, [600n - paid, 400n + paid])
        },
      ),
      { numRuns: 6 },
    )
  })

  it('estimates a forced step before sending it, and reports the revert a step would cause', async () => {
    const { params, held } = await openDispute()
    const action = escrowActions.fund(100n, (await now()) + 1_000n)
    const args = {
      params,
      from: held,
      mover: 0n,
      action,
      moverSignature: signMove(params, held, 0n, action, f.alice.privateKey),
    }
    const estimate = await estimateForceProgressGas(f.alice.client, args)
    const r = await f.forceAndCheck(f.alice.client, args)
    assert(estimate >= r.gasUsed, `estimate ${estimate} covers the ${r.gasUsed} used`)
    assert(estimate < r.gasUsed + 30_000n, `estimate ${estimate} is close to the ${r.gasUsed} used`)

    const release = escrowActions.release()
    await assert.rejects(
      estimateForceProgressGas(f.bob.client, {
        params,
        from: r.state,
        mover: 1n,
        action: release,
        moverSignature: signMove(params, r.state, 1n, release, f.bob.privateKey),
        appAbi: Escrow.abi,
      }),
      (e: unknown) =>
        e instanceof AdjudicatorRevertError &&
        e.errorName === 'AppReverted' &&
        e.appError?.name === 'NotPayer',
    )
  })
})
