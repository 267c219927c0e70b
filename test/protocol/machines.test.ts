import assert from 'node:assert/strict'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { fixedEnv } from '../support/channel.ts'
import { createTwoMachines } from './harness.ts'

/**
 * Two parties joined by an in-memory queue: the test delivers every message itself, in the order
 * it picks, with no transport and no timer in the way.
 */
describe('protocol: two machines over an in-memory queue (deterministic)', function () {
  this.timeout(30_000)

  it('an open that timed out is not waited for any more: opened again, it sends its open again', async () => {
    const m = await createTwoMachines({ responseTimeoutMs: 300 })
    const [payer, payee] = m.parties
    const opens = () => m.queue.filter((e) => e.from === 0 && JSON.parse(e.text).type === 'open').length
    await assert.rejects(payer.open(m.params, m.initial), (e: { code?: string }) => e.code === 'PEER_TIMEOUT')
    assert.equal(opens(), 1)
    const again = m.track(payer.open(m.params, m.initial))
    await m.settle()
    assert.equal(opens(), 2, 'the second open started over instead of waiting on the first')
    const peer = m.track(payee.open(m.params, m.initial))
    await m.drain()
    const [mine, theirs] = await Promise.all([again, peer])
    assert.deepEqual(mine, theirs)
    assert.deepEqual(m.violations, [])
  })

  it('one co-signed step, message by message: propose, accept, commit', async () => {
    const m = await createTwoMachines()
    await m.open()
    const step = m.update(0, escrowActions.fund(5n, fixedEnv.timestamp + 3_600n))
    await m.settle()
    assert.deepEqual(
      m.queue.map((e) => JSON.parse(e.text).type),
      ['propose'],
      'the mover sent its proposal and waits',
    )
    await m.deliver(0)
    assert.deepEqual(
      m.queue.map((e) => JSON.parse(e.text).type),
      ['accept'],
      'the peer recorded and signed, then accepted',
    )
    assert.equal((await m.parties[1].latest(m.channelId))?.state.version, 0n, 'the peer has no commit yet')
    await m.deliver(0)
    const r = await step
    assert.ok(r.ok && r.signed.state.version === 1n, 'the mover signed last')
    assert.deepEqual(
      m.queue.map((e) => JSON.parse(e.text).type),
      ['commit'],
    )
    await m.deliver(0)
    assert.deepEqual(
      await m.parties[1].latest(m.channelId),
      r.signed,
      'the peer holds the same co-signed state',
    )
    assert.deepEqual(m.violations, [])
    await m.close()
  })

  it('crossing proposals at one version: exactly one state is co-signed there, whatever the order', async () => {
    for (const order of [
      [0, 0, 0, 0],
      [1, 0, 0, 0],
    ]) {
      const m = await createTwoMachines({ nonce: 2n })
      await m.open()
      // Fund, so that both parties have a move: the payee rules, the payer cannot fund twice but
      // proposes a release of the escrow at the same version.
      const funded = m.update(0, escrowActions.fund(5n, fixedEnv.timestamp + 3_600n))
      await m.drain()
      assert.ok((await funded).ok)
      const a = m.update(0, escrowActions.release())
      const b = m.update(1, (await m.nextAction(1))!)
      await m.settle()
      assert.equal(m.queue.length, 2, 'both proposals are on their way')
      for (const k of order) await m.deliver(k)
      await m.drain()
      const [ra, rb] = await Promise.all([a, b])
      assert.ok(ra.ok || rb.ok, 'one of them is co-signed')
      const [la, lb] = [await m.parties[0].latest(m.channelId), await m.parties[1].latest(m.channelId)]
      assert.deepEqual(la, lb, 'both hold the same latest state')
      assert.equal(la?.state.version, 2n)
      assert.deepEqual(m.violations, [])
      await m.close()
    }
  })

  it('a refused proposal is a result, and nothing is co-signed for it', async () => {
    const m = await createTwoMachines({ nonce: 3n })
    await m.open()
    m.refuseNext[1] = true
    const step = m.update(0, escrowActions.fund(5n, fixedEnv.timestamp + 3_600n))
    await m.drain()
    const r = await step
    assert.ok(!r.ok && r.reason === 'peer-rejected' && r.peerReason === 'refused')
    assert.equal((await m.parties[0].latest(m.channelId))?.state.version, 0n)
    assert.equal((await m.parties[1].latest(m.channelId))?.state.version, 0n)
    assert.deepEqual(m.violations, [])
    await m.close()
  })
})
