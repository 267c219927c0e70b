import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { verifyStateSignature } from '../../engine/channel/index.ts'
import { createCryptoPool, type CryptoPool } from '../../engine/crypto/createCryptoPool.ts'
import { prefetchRecoveries, takeRecovered } from '../../engine/crypto/recoveryMemo.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { signedPairs } from '../../engine/protocol/createDispatcher.ts'
import { recovers } from '../../engine/protocol/messageChecks.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { escrowChannel, fixedEnv, testAddresses } from '../support/channel.ts'
import { escrowParty } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n

/**
 * Payer and payee sharing `pool`, with `channels` funded escrow channels opened (nonces from
 * `firstNonce`: another test's channels would find their recoveries remembered).
 */
async function partiesOnPool(pool: CryptoPool, channels: number, firstNonce: bigint) {
  const hub = createMemoryHub()
  const partyOptions = { responseTimeoutMs: 5_000, cryptoPool: pool }
  const payer = await escrowParty(0, hub, { partyOptions })
  const payee = await escrowParty(1, hub, { partyOptions })
  const chs = Array.from({ length: channels }, (_, i) => escrowChannel({ nonce: firstNonce + BigInt(i) }))
  for (const ch of chs) {
    await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
    for (const p of [payer, payee]) assert.ok((await p.confirmFunding(ch.channelId, ch.initial.balances)).ok)
  }
  return { payer, payee, chs, hub }
}

describe('crypto pool in a party', function () {
  this.timeout(120_000)

  it('co-signs steps on many channels at once with signatures and recoveries on the thread', async () => {
    const pool = createCryptoPool({ threads: 1 })
    await pool.ready()
    const { payer, payee, chs } = await partiesOnPool(pool, 6, 1n)
    const before = pool.stats().offloaded
    await Promise.all(
      chs.map(async (ch) => {
        for (let i = 0; i < 3; i++) {
          assert.ok((await payer.update(ch.channelId, escrowActions.fund(100n, deadline))).ok)
          assert.ok((await payer.update(ch.channelId, escrowActions.release())).ok)
        }
      }),
    )
    for (const ch of chs) {
      const a = await payer.latest(ch.channelId)
      const b = await payee.waitForVersion(ch.channelId, 6n)
      assert.deepEqual(a, b)
      assert.deepEqual(a?.state.balances, [700n, 300n])
      ch.params.participants.forEach((p, i) =>
        assert.ok(verifyStateSignature(ch.params, a!.state, a!.signatures[i]!, p).ok),
      )
    }
    // 36 steps, each three signatures and three recoveries: most of them on the thread.
    assert.ok(pool.stats().offloaded - before >= 100, JSON.stringify(pool.stats()))
    assert.equal(pool.stats().failures, 0)
    await payer.close()
    // The party ends the pool when it closes; the other party goes on without it.
    assert.equal(pool.workers().length, 0)
    await payee.close()
  })

  it('runs the crypto of one channel alone on the calling thread', async () => {
    const pool = createCryptoPool({ threads: 1 })
    await pool.ready()
    const { payer, payee, chs } = await partiesOnPool(pool, 1, 100n)
    const ch = chs[0]!
    const before = pool.stats()
    for (let i = 0; i < 3; i++) {
      assert.ok((await payer.update(ch.channelId, escrowActions.fund(100n, deadline))).ok)
      assert.ok((await payer.update(ch.channelId, escrowActions.release())).ok)
    }
    assert.deepEqual((await payee.waitForVersion(ch.channelId, 6n))?.state.balances, [700n, 300n])
    const after = pool.stats()
    assert.equal(after.offloaded, before.offloaded)
    assert.ok(after.inline - before.inline >= 6 * 5, JSON.stringify(after))
    // A channel id that is not a string is the update's own rejection, not a throw.
    const bad = payer.update(7 as unknown as Hex, escrowActions.release())
    assert.ok(bad instanceof Promise)
    await assert.rejects(bad)
    await payer.close()
    await payee.close()
  })

  it('a prefetched recovery serves only the digest and signature it was made of, once', async () => {
    const pool = createCryptoPool({ threads: 1, offload: 'always' })
    await pool.ready()
    const k = `0x${'99'.repeat(32)}` as Hex
    const who = privateKeyToAddress(k)
    const d = `0x${'aa'.repeat(32)}` as Hex
    const other = `0x${'ab'.repeat(32)}` as Hex
    const sig = signDigest(d, k)
    const accept: PeerMessage = { type: 'accept', channelId: d, from: who, version: '1', digest: d, sig }
    const pending = prefetchRecoveries(pool, signedPairs(accept, 0, 2))
    assert.notEqual(pending, undefined)
    await pending
    assert.equal(pool.stats().offloaded, 1)
    assert.equal(recovers(other, sig, who), false, 'another digest is recovered, and refused')
    assert.equal(takeRecovered(d, sig.toUpperCase().replace('0X', '0x')), undefined, 'another spelling')
    assert.deepEqual(takeRecovered(d, sig), { ok: true, signer: who.toLowerCase() })
    assert.equal(takeRecovered(d, sig), undefined, 'taken once')
    // A bad signature's verdict is kept as it is: the check refuses it.
    const forged = `0x${sig.slice(2, 130)}1d` as Hex
    await prefetchRecoveries(pool, [[d, forged]])
    assert.equal(recovers(d, forged, who), false)
    // A commit's signature at this party's index is left to the handler; not strings, nothing.
    const mine = signDigest(other, k)
    const commit: PeerMessage = {
      type: 'commit',
      channelId: d,
      from: who,
      version: '1',
      digest: other,
      sigs: [mine],
    }
    assert.deepEqual(signedPairs({ ...commit, sigs: [mine, mine] }, 0, 2), [[other, mine]])
    assert.deepEqual(signedPairs({ ...commit, sigs: [mine, mine] }, 1, 2), [[other, mine]])
    // Not one signature per participant: the handler refuses it unrecovered, so nothing starts.
    assert.deepEqual(signedPairs(commit, 1, 2), [])
    assert.deepEqual(signedPairs({ ...commit, sigs: Array.from({ length: 3_000 }, () => mine) }, 1, 2), [])
    assert.equal(prefetchRecoveries(pool, [[other, 7]]), undefined)
    await pool.close()
  })

  it('a verdict never answers for another spelling of the signature, which recovery refuses', async () => {
    const pool = createCryptoPool({ threads: 1, offload: 'always' })
    await pool.ready()
    const k = `0x${'77'.repeat(32)}` as Hex
    const who = privateKeyToAddress(k)
    const d = `0x${'cc'.repeat(32)}` as Hex
    const sig = signDigest(d, k)
    const shouted = `0X${sig.slice(2)}`
    assert.equal(recovers(d, shouted, who), false, 'recovery refuses a 0X prefix')
    // A 0X accept and then the 0x one, both recovered ahead of their turn: the later verdict is
    // the good one, and it must not serve the first.
    await Promise.all([prefetchRecoveries(pool, [[d, shouted]]), prefetchRecoveries(pool, [[d, sig]])])
    assert.equal(recovers(d, shouted, who), false)
    assert.equal(recovers(d, sig, who), true)
    await pool.close()
  })

  it('a 0X accept just before the good one leaves the step co-signed with canonical signatures', async () => {
    const pool = createCryptoPool({ threads: 1, offload: 'always' })
    await pool.ready()
    const { payer, payee, chs, hub } = await partiesOnPool(pool, 1, 9_777n)
    const ch = chs[0]!
    // The payee's accept reaches the payer twice: first with its signature spelled 0X…, then as sent.
    const forger = hub.connect(testAddresses[1]!)
    let forging = false
    hub.setFilter((to, m) => {
      if (forging || m.type !== 'accept' || to.toLowerCase() !== testAddresses[0]!.toLowerCase()) return false
      const a = m as Extract<PeerMessage, { type: 'accept' }>
      forging = true
      void forger.send(to, { ...a, sig: `0X${a.sig.slice(2)}` as Hex })
      void forger.send(to, a)
      forging = false
      return true
    })
    const r = await payer.update(ch.channelId, escrowActions.fund(100n, deadline))
    hub.setFilter(undefined)
    assert.ok(r.ok, 'the step is co-signed')
    const latest = await payer.latest(ch.channelId)
    assert.equal(latest?.state.version, 1n)
    for (const s of latest!.signatures) assert.match(String(s), /^0x[0-9a-f]{130}$/)
    await hub.settled()
    await payer.close()
    await payee.close()
    await pool.close()
  })
})
