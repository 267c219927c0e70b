import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import type { Env, ForcedChain, ForcedMove, State } from '../../engine/channel/types.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import { fixedEnv } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n

/** Runs the moves from `base` in a sandbox of its own, as the chain would, and returns the chain. */
async function forcedChain(
  params: Parameters<typeof runTransition>[1]['params'],
  base: State,
  steps: { mover: bigint; action: Hex; env: Env }[],
): Promise<ForcedChain> {
  const sandbox = await createSandbox()
  const moves: ForcedMove[] = []
  let from = base
  for (const s of steps) {
    const r = await runTransition(sandbox, {
      params,
      from,
      ...s,
      appCode: escrowApp.code,
      ...(escrowApp.abi ? { appAbi: escrowApp.abi } : {}),
    })
    if (!r.ok) throw new Error(r.message)
    moves.push({ ...s, state: r.state })
    from = r.state
  }
  return { channelId: base.channelId, base, moves }
}

describe('protocol: adopting a forced chain (every move re-run, no chain)', () => {
  const env1 = { blockNumber: fixedEnv.blockNumber + 1n, timestamp: fixedEnv.timestamp + 12n }
  const env2 = { blockNumber: fixedEnv.blockNumber + 2n, timestamp: fixedEnv.timestamp + 24n }

  it('a chain of two moves from the latest co-signed state is re-run move by move and becomes the base; the channel goes on', async () => {
    const { params, channelId, initial, payer, payee, events } = await twoEscrowParties()
    const chain = await forcedChain(params, initial, [
      { mover: 0n, action: escrowActions.fund(300n, deadline), env: env1 },
      { mover: 0n, action: escrowActions.release(), env: env2 },
    ])
    for (const p of [payer, payee]) {
      const r = await p.adoptForcedChain(chain)
      assert.ok(r.ok, r.ok ? '' : r.message)
      assert.equal((await p.base(channelId))?.version, 2n)
      assert.equal(
        (await p.latest(channelId))?.state.version,
        0n,
        'a forced state is a base, not a co-signed state',
      )
    }
    assert.deepEqual(
      await payer.adoptForcedChain(chain),
      { ok: true, state: chain.moves[1]!.state },
      'adopting it again changes nothing',
    )
    assert.ok(events[0].some((e) => e.type === 'adopted' && e.state.version === 2n))
    const next = await payer.update(channelId, escrowActions.fund(100n, deadline))
    assert.ok(next.ok)
    if (next.ok) assert.deepEqual([next.signed.state.version, next.signed.state.balances], [3n, [700n, 300n]])
  })

  it('a chain with a doctored earlier move is refused even when its last move follows from it', async () => {
    const { params, initial, payer, channelId } = await twoEscrowParties()
    const honest = await forcedChain(params, initial, [
      { mover: 0n, action: escrowActions.fund(300n, deadline), env: env1 },
    ])
    // The cheater claims its first move already paid the payee 300 and builds the release on that.
    const doctored: State = { ...honest.moves[0]!.state, balances: [700n, 300n] }
    const rest = await forcedChain(params, doctored, [
      { mover: 0n, action: escrowActions.release(), env: env2 },
    ])
    const chain: ForcedChain = {
      channelId,
      base: initial,
      moves: [{ ...honest.moves[0]!, state: doctored }, ...rest.moves],
    }
    const r = await payer.adoptForcedChain(chain)
    assert.equal(r.ok ? 'ok' : r.reason, 'mismatch')
    assert.match(r.ok ? '' : r.message, /move 0/)
    assert.equal((await payer.base(channelId))?.version, 0n, 'nothing adopted')
  })

  it('a move re-run with another env than the chain says is refused; so are chains over an older or another base', async () => {
    const { params, initial, payer, payee, channelId } = await twoEscrowParties()
    const chain = await forcedChain(params, initial, [
      { mover: 0n, action: escrowActions.fund(300n, deadline), env: env1 },
    ])
    const wrongEnv: ForcedChain = {
      ...chain,
      moves: [{ ...chain.moves[0]!, env: { blockNumber: env1.blockNumber, timestamp: deadline + 1n } }],
    }
    const r1 = await payer.adoptForcedChain(wrongEnv)
    assert.equal(r1.ok ? 'ok' : r1.reason, 'mismatch')
    const otherBase: ForcedChain = { ...chain, base: { ...initial, balances: [999n, 1n] } }
    const r2 = await payer.adoptForcedChain(otherBase)
    assert.equal(r2.ok ? 'ok' : r2.reason, 'different-base')
    // Co-sign version 1 and 2: the chain over version 0 now rewrote co-signed history.
    assert.ok((await payer.update(channelId, escrowActions.fund(5n, deadline))).ok)
    assert.ok((await payer.update(channelId, escrowActions.release())).ok)
    await payee.waitForVersion(channelId, 2n)
    const r3 = await payee.adoptForcedChain(chain)
    assert.equal(r3.ok ? 'ok' : r3.reason, 'older-base')
  })
})
