import assert from 'node:assert/strict'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { fixedEnv } from '../support/channel.ts'
import { twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n

describe('protocol: the funding phase', () => {
  it('until a party confirms every deposit, it neither moves (unfunded) nor signs (a signed refusal)', async () => {
    const { channelId, initial, payer, payee, events } = await twoEscrowParties({ funded: false })
    assert.equal(payer.phase(channelId), 'funding')
    const own = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.deepEqual(own.ok ? 'ok' : own.reason, 'unfunded')
    // The payer sees both deposits; the payee does not yet: it refuses to sign.
    assert.ok((await payer.confirmFunding(channelId, initial.balances)).ok)
    assert.equal(payer.phase(channelId), 'open')
    const refused = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.equal(
      !refused.ok && refused.reason === 'peer-rejected' ? refused.peerReason : undefined,
      'unfunded',
    )
    assert.equal(events[1].filter((e) => e.type === 'signed' && e.version > 0n).length, 0)
    assert.ok((await payee.confirmFunding(channelId, initial.balances)).ok)
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    assert.ok(events[0].some((e) => e.type === 'funded'))
    assert.ok((await payer.update(channelId, escrowActions.release())).ok)
    assert.ok((await payer.update(channelId, escrowActions.close())).ok)
    assert.equal(payer.phase(channelId), 'final')
  })

  it('a deposit below a participant’s initial balance is not funding; the result names who is short', async () => {
    const { channelId, payer } = await twoEscrowParties({ funded: false })
    const r = await payer.confirmFunding(channelId, [999n, 0n])
    assert.deepEqual(r.ok ? 'ok' : r.missing, [0])
    assert.equal((await payer.update(channelId, escrowActions.fund(1n, deadline))).ok, false)
    await assert.rejects(payer.confirmFunding(channelId, [1000n]), /one deposit per participant/)
  })

  it('with requireFunding off (no chain), the channel is usable at once', async () => {
    const { channelId, payer } = await twoEscrowParties({
      funded: false,
      partyOptions: { requireFunding: false },
    })
    assert.ok((await payer.update(channelId, escrowActions.fund(1n, deadline))).ok)
  })
})
