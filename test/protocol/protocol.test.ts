import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import {
  escrowActions,
  escrowApp,
  decodeEscrowData,
  initialEscrowData,
  signRuling,
} from '../../apps/escrow/escrowClient.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { ChannelParams, Env, State } from '../../engine/channel/types.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty, type Party, type PartyOptions } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { hashState, verifyStateSignature } from '../../engine/channel/index.ts'
import { stateToWire } from '../../engine/channel/wire.ts'
import { signDigest } from '../../engine/crypto/signDigest.ts'
import { hashProposal } from '../../engine/protocol/messageDigests.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { escrowParty, twoEscrowParties } from '../support/parties.ts'

const deadline = fixedEnv.timestamp + 3_600n

describe('protocol: co-signed updates between two parties', () => {
  it('opens with a co-signed version 0 and co-signs each step; both hold the same state', async () => {
    const { params, channelId, payer, payee } = await twoEscrowParties()
    const r1 = await payer.update(channelId, escrowActions.fund(300n, deadline))
    assert.ok(r1.ok)
    const r2 = await payer.update(channelId, escrowActions.release())
    assert.ok(r2.ok)
    const a = await payer.latest(channelId)
    const b = await payee.waitForVersion(channelId, 2n)
    assert.deepEqual(a, b)
    assert.deepEqual(a?.state.balances, [700n, 300n])
    params.participants.forEach((p, i) =>
      assert.ok(verifyStateSignature(params, a!.state, a!.signatures[i]!, p).ok),
    )
  })

  it('a step the app rejects is a verdict for the mover and never reaches the peer', async () => {
    const { channelId, payee, events } = await twoEscrowParties()
    const r = await payee.update(channelId, escrowActions.fund(1n, deadline))
    assert.equal(r.ok, false)
    if (!r.ok && r.reason === 'step-rejected') assert.equal(r.step.error?.name, 'NotPayer')
    else
      assert.fail(
        `expected step-rejected, got ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      )
    assert.equal(events[0].filter((e) => e.type === 'signed' && e.version > 0n).length, 0)
  })

  it('a cheating mover that proposes a post-state the app does not produce is refused (state-mismatch)', async () => {
    const { params, channelId, initial, hub, payee, events } = await twoEscrowParties()
    // The payer's key signs a proposal whose post-state pays it the payee's money.
    const cheat = hub.connect(testAddresses[0]!)
    const replies: PeerMessage[] = []
    cheat.onMessage((m) => void replies.push(m))
    const forged = { ...initial, version: 1n, balances: [0n, 1000n].reverse() }
    const action = escrowActions.fund(1n, deadline)
    const digest = hashState(params.chainId, params.adjudicator, forged)
    const sig = signDigest(
      hashProposal(params, { channelId, version: 1n, stateHash: digest, mover: 0n, action, ...fixedEnv }),
      testKeys[0]!,
    )
    await cheat.send(testAddresses[1]!, {
      type: 'propose',
      channelId,
      from: testAddresses[0]!,
      state: stateToWire(forged),
      mover: 0,
      action,
      env: { blockNumber: String(fixedEnv.blockNumber), timestamp: String(fixedEnv.timestamp) },
      baseSigs: [],
      sig,
    })
    // Wait for the answer (the re-run takes a while on a loaded machine), not a fixed time.
    const end = Date.now() + 60_000
    while (!replies.some((m) => m.type === 'reject' || m.type === 'accept') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 25))
    const reject = replies.find((m) => m.type === 'reject')
    assert.equal(reject?.type === 'reject' ? reject.reason : undefined, 'state-mismatch')
    assert.equal(
      replies.some((m) => m.type === 'accept'),
      false,
    )
    assert.equal(payee.stats()['state-mismatch'], 1)
    assert.ok(events[1].some((e) => e.type === 'refused' && e.reason === 'state-mismatch'))
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
  })

  it('a proposal not signed by the mover is dropped and counted, and changes nothing', async () => {
    const { params, channelId, initial, hub, payee } = await twoEscrowParties()
    const cheat = hub.connect(testAddresses[0]!)
    const state = { ...initial, version: 1n }
    const action = escrowActions.fund(1n, deadline)
    const digest = hashState(params.chainId, params.adjudicator, state)
    // signed by the arbiter's key, claiming to be the payer
    const sig = signDigest(
      hashProposal(params, { channelId, version: 1n, stateHash: digest, mover: 0n, action, ...fixedEnv }),
      testKeys[2]!,
    )
    await cheat.send(testAddresses[1]!, {
      type: 'propose',
      channelId,
      from: testAddresses[0]!,
      state: stateToWire(state),
      mover: 0,
      action,
      env: { blockNumber: String(fixedEnv.blockNumber), timestamp: String(fixedEnv.timestamp) },
      baseSigs: [],
      sig,
    })
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(payee.stats()['bad-signature'], 1)
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
  })

  it('messages of unknown type or shape are dropped and counted, and the channel goes on', async () => {
    const { channelId, hub, payer, payee } = await twoEscrowParties()
    const raw = hub.connect(testAddresses[0]!)
    await raw.send(testAddresses[1]!, {
      type: 'bogus',
      channelId,
      from: testAddresses[0]!,
    } as unknown as PeerMessage)
    await raw.send(testAddresses[1]!, {
      type: 'propose',
      channelId,
      from: testAddresses[0]!,
      state: { version: 'x' },
    } as unknown as PeerMessage)
    await raw.send(testAddresses[1]!, 42 as unknown as PeerMessage)
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(payee.stats()['malformed'], 3)
    const r = await payer.update(channelId, escrowActions.fund(1n, deadline))
    assert.ok(
      r.ok,
      JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
  })

  it('an env outside the peer tolerance is refused (env)', async () => {
    const { channelId, payer } = await twoEscrowParties()
    const r = await payer.update(channelId, escrowActions.fund(5n, deadline), {
      env: { blockNumber: fixedEnv.blockNumber + 1000n, timestamp: fixedEnv.timestamp },
    })
    assert.equal(r.ok, false)
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'env')
  })

  it('a proposal ahead of a lagging held head is checked again at a fresh read: accepted when the chain is there', async () => {
    const ahead = { blockNumber: fixedEnv.blockNumber + 1000n, timestamp: fixedEnv.timestamp + 30n }
    let reads = 0
    const { channelId, payer, payee } = await twoEscrowParties({
      partyOptions: { freshClock: async () => (reads++, ahead) },
    })
    const r = await payer.update(channelId, escrowActions.fund(5n, deadline), { env: ahead })
    assert.ok(
      r.ok,
      JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
    assert.equal(reads, 1, 'one fresh read, by the peer, for the proposal ahead of its held head')
    assert.equal((await payee.waitForVersion(channelId, 1n))?.state.version, 1n)
  })

  it('a proposal ahead of the chain itself is still refused (env) after the fresh read', async () => {
    let reads = 0
    const { channelId, payer } = await twoEscrowParties({
      partyOptions: { freshClock: async () => (reads++, fixedEnv) },
    })
    const r = await payer.update(channelId, escrowActions.fund(5n, deadline), {
      env: { blockNumber: fixedEnv.blockNumber + 1000n, timestamp: fixedEnv.timestamp },
    })
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'env')
    assert.equal(reads, 1)
  })

  /**
   * Payer and payee on an Escrow channel, opened and funded; the payer's held head lags the
   * payee's by 20 blocks (the tolerance is 10), and its fresh read answers `fresh` (none: no
   * `freshClock`). Returns the parties, the payer's fresh reads and the `env` refusals it saw.
   */
  async function laggingMover(fresh: (() => Env) | undefined) {
    const hub = createMemoryHub()
    const ch = escrowChannel()
    const refusals: string[] = []
    let reads = 0
    const payer = await escrowParty(0, hub, {
      partyOptions: {
        clock: () => ({ ...fixedEnv, blockNumber: fixedEnv.blockNumber - 20n }),
        ...(fresh === undefined ? {} : { freshClock: async () => (reads++, fresh()) }),
        onEvent: (e) => void (e.type === 'peer-refused' && refusals.push(e.reason)),
      },
    })
    const payee = await escrowParty(1, hub)
    await Promise.all([payer.open(ch.params, ch.initial), payee.open(ch.params, ch.initial)])
    for (const p of [payer, payee]) assert.ok((await p.confirmFunding(ch.channelId, ch.initial.balances)).ok)
    return { ...ch, payer, payee, refusals, reads: () => reads }
  }

  it('a mover whose held head lags past the tolerance is refused once (env), reads the head fresh and is co-signed', async () => {
    const m = await laggingMover(() => fixedEnv)
    const r = await m.payer.update(m.channelId, escrowActions.fund(5n, deadline))
    assert.ok(
      r.ok,
      JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
    assert.equal(m.reads(), 1)
    assert.deepEqual(m.refusals, ['env'])
    assert.equal((await m.payee.waitForVersion(m.channelId, 1n, 5_000)).state.version, 1n)
  })

  it('a second env refusal after the fresh read is the result: one read, no loop', async () => {
    const m = await laggingMover(() => ({ ...fixedEnv, blockNumber: fixedEnv.blockNumber - 30n }))
    const r = await m.payer.update(m.channelId, escrowActions.fund(5n, deadline))
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'env')
    assert.equal(m.reads(), 1)
    assert.deepEqual(m.refusals, ['env', 'env'])
    assert.equal((await m.payer.latest(m.channelId))?.state.version, 0n, 'nothing co-signed')
  })

  it('without a fresh read, or with an env the caller named, the env refusal is the result at once', async () => {
    const m = await laggingMover(undefined)
    const r = await m.payer.update(m.channelId, escrowActions.fund(5n, deadline))
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'env')
    assert.deepEqual(m.refusals, ['env'])
    const named = await laggingMover(() => fixedEnv)
    const lagging = { ...fixedEnv, blockNumber: fixedEnv.blockNumber - 20n }
    const r2 = await named.payer.update(named.channelId, escrowActions.fund(5n, deadline), { env: lagging })
    assert.equal(!r2.ok && r2.reason === 'peer-rejected' ? r2.peerReason : undefined, 'env')
    assert.equal(named.reads(), 0, "the caller's env is not replaced")
    assert.deepEqual(named.refusals, ['env'])
  })

  it('a fresh read that fails leaves the env refusal as the result', async () => {
    const m = await laggingMover(() => {
      throw new Error('the chain is down')
    })
    const r = await m.payer.update(m.channelId, escrowActions.fund(5n, deadline))
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'env')
    assert.equal(m.reads(), 1)
    assert.deepEqual(m.refusals, ['env'])
  })

  it("a party's policy may refuse a valid step: the mover gets the reason, nothing is signed", async () => {
    const asked: bigint[] = []
    const { channelId, payer, payee, events } = await twoEscrowParties({
      partyOptions: {
        approve: (step) => {
          asked.push(step.to.version)
          return step.to.balances[1] === 0n ? true : 'the payee will not take payment before delivery'
        },
      },
    })
    assert.ok(
      (await payer.update(channelId, escrowActions.fund(10n, deadline))).ok,
      'funding leaves the payee at 0: approved',
    )
    const r = await payer.update(channelId, escrowActions.release())
    assert.equal(
      !r.ok && r.reason === 'peer-rejected' ? `${r.peerReason}: ${r.message}` : undefined,
      'refused: the payee will not take payment before delivery',
    )
    assert.deepEqual(asked, [1n, 2n])
    assert.equal(events[1].filter((e) => e.type === 'signed' && e.version === 2n).length, 0)
    assert.equal((await payee.latest(channelId))?.state.version, 1n)
  })

  it('a policy that changes the state it is shown gets nothing signed that the app did not produce', async () => {
    const { channelId, payer, payee, events } = await twoEscrowParties({
      partyOptions: {
        responseTimeoutMs: 1_000,
        approve: (step) => {
          // A faulty policy "normalises" the proposed state it is handed.
          step.to.balances = [...step.to.balances].reverse()
          return true
        },
      },
    })
    const r = await payer.update(channelId, escrowActions.fund(10n, deadline))
    assert.equal(r.ok, false)
    assert.equal(events[1].filter((e) => e.type === 'signed' && e.version === 1n).length, 0)
    assert.equal((await payee.latest(channelId))?.state.version, 0n)
  })

  it('a silent peer is a timeout verdict naming it', async () => {
    const { channelId, payer, hub } = await twoEscrowParties({ partyOptions: { responseTimeoutMs: 300 } })
    hub.setFilter((to) => to === testAddresses[1])
    const r = await payer.update(channelId, escrowActions.fund(5n, deadline))
    assert.equal(r.ok, false)
    assert.deepEqual(!r.ok && r.reason === 'peer-timeout' ? r.missing : undefined, [testAddresses[1]])
  })

  it('simultaneous proposals: the lower index wins, the other retries on top, nobody signs twice', async () => {
    const { params, channelId, payer, payee, events } = await twoEscrowParties()
    assert.ok((await payer.update(channelId, escrowActions.fund(100n, deadline))).ok)
    await payee.waitForVersion(channelId, 1n)
    // Both move at version 2: the payer releases, the payee brings the arbiter's ruling.
    const ruling = escrowActions.ruling(true, signRuling(params, channelId, 0n, true, testKeys[2]!))
    const [a, b] = await Promise.all([
      payer.update(channelId, escrowActions.release()),
      payee.update(channelId, ruling),
    ])
    assert.ok(a.ok, 'the lower index (payer) wins')
    if (a.ok) assert.equal(a.signed.state.version, 2n)
    assert.ok(
      events[0].some((e) => e.type === 'refused' && e.reason === 'conflict'),
      'the payer refused the simultaneous proposal',
    )
    // The payee retried on top of the released state, where a ruling no longer applies.
    assert.equal(!b.ok && b.reason === 'step-rejected' ? b.step.error?.name : undefined, 'NotFunded')
    for (const list of events) {
      const perVersion = new Map<bigint, Set<string>>()
      for (const e of list)
        if (e.type === 'signed')
          perVersion.set(e.version, (perVersion.get(e.version) ?? new Set()).add(e.digest))
      for (const [ver, ds] of perVersion) assert.equal(ds.size, 1, `one digest signed at version ${ver}`)
    }
    assert.deepEqual(await payer.latest(channelId), await payee.waitForVersion(channelId, 2n))
    assert.deepEqual((await payer.latest(channelId))?.state.balances, [900n, 100n])
  })

  it('a replayed old proposal is refused as stale', async () => {
    const { channelId, payer, payee, hub } = await twoEscrowParties()
    const seen: PeerMessage[] = []
    hub.setFilter((to, m) => {
      if (to === testAddresses[1] && m.type === 'propose') seen.push(m)
      return false
    })
    assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
    assert.ok((await payer.update(channelId, escrowActions.release())).ok)
    await payee.waitForVersion(channelId, 2n)
    hub.setFilter(undefined)
    const replayer = hub.connect(testAddresses[0]!)
    const m = {
      ...seen[0]!,
      state: {
        ...(seen[0]!.type === 'propose' ? seen[0]!.state : ({} as never)),
        appData: (seen[0] as Extract<PeerMessage, { type: 'propose' }>).state.appData,
      },
    } as PeerMessage
    await replayer.send(testAddresses[1]!, m)
    await new Promise((r) => setTimeout(r, 100))
    // Version 1 was co-signed with this very digest, so the replay is answered idempotently or refused as stale;
    // either way nothing changes.
    assert.equal((await payee.latest(channelId))?.state.version, 2n)
    assert.equal(decodeEscrowData((await payee.latest(channelId))!.state.appData as Hex).funded, false)
  })
})

/**
 * An Escrow channel number `nonce` of three participants (test keys 0, 1 and 3; key 2 arbitrates),
 * its three parties on one hub with memory stores, opened and confirmed funded. `options(i)` adds
 * to party `i`'s options (its clock is the fixed one unless given).
 */
async function threeParties(
  nonce: bigint,
  responseTimeoutMs: number,
  options: (i: number) => Partial<PartyOptions> = () => ({}),
) {
  const hub = createMemoryHub()
  const params: ChannelParams = {
    ...escrowChannel().params,
    participants: [testAddresses[0]!, testAddresses[1]!, testAddresses[3]!],
    nonce,
  }
  const channelId = getChannelId(params)
  const initial: State = {
    channelId,
    version: 0n,
    balances: [900n, 0n, 100n],
    appData: initialEscrowData({ payer: 0, payee: 1, arbiter: testAddresses[2]! }),
    isFinal: false,
  }
  const keys = [testKeys[0]!, testKeys[1]!, testKeys[3]!]
  const parties = await Promise.all(
    keys.map(async (k, i) =>
      createParty({
        signer: createKeySigner(k),
        transport: hub.connect(params.participants[i]!),
        store: createMemoryStore(),
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs,
        ...options(i),
      }),
    ),
  )
  await Promise.all(parties.map((p) => p.open(params, initial)))
  for (const p of parties) assert.ok((await p.confirmFunding(channelId, initial.balances)).ok)
  return { hub, params, channelId, parties }
}

describe('protocol: three participants', () => {
  it('a lagging mover of three is not asked again after an env refusal: another may have accepted', async () => {
    let reads = 0
    const { channelId, parties } = await threeParties(34n, 2_000, (i) =>
      i === 0
        ? {
            clock: () => ({ ...fixedEnv, blockNumber: fixedEnv.blockNumber - 20n }),
            freshClock: async () => (reads++, fixedEnv),
          }
        : {},
    )
    const r = await parties[0]!.update(channelId, escrowActions.fund(50n, deadline))
    assert.equal(!r.ok && r.reason === 'peer-rejected' ? r.peerReason : undefined, 'env')
    assert.equal(reads, 0)
    for (const p of parties) await p.close()
  })

  it('every step needs all three signatures; movers take turns; a silent third party blocks the step', async () => {
    const { hub, params, channelId, parties } = await threeParties(33n, 500)
    const [p0, p1, p2] = parties as [Party, Party, Party]
    assert.ok((await p0.update(channelId, escrowActions.fund(50n, deadline))).ok)
    await Promise.all(parties.map((p) => p.waitForVersion(channelId, 1n)))
    // Participant 2 goes silent: participant 1's step gets two of three signatures, and times out naming it.
    hub.setFilter((to) => to === testAddresses[3])
    const ruling = escrowActions.ruling(true, signRuling(params, channelId, 0n, true, testKeys[2]!))
    const stalled = await p1.update(channelId, ruling)
    assert.deepEqual(!stalled.ok && stalled.reason === 'peer-timeout' ? stalled.missing : undefined, [
      testAddresses[3],
    ])
    hub.setFilter(undefined)
    // Back: the same step (same digest) is signed again by participant 0 and now by participant 2.
    const r = await p1.update(channelId, ruling)
    assert.ok(
      r.ok,
      JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
    const latest = await Promise.all(parties.map((p) => p.waitForVersion(channelId, 2n)))
    assert.deepEqual(latest[0], latest[1])
    assert.deepEqual(latest[1], latest[2])
    assert.deepEqual(latest[0]?.state.balances, [850n, 50n, 100n])
    params.participants.forEach((a, i) =>
      assert.ok(verifyStateSignature(params, latest[0]!.state, latest[0]!.signatures[i]!, a).ok),
    )
    assert.equal((await p2.latest(channelId))?.signatures.length, 3)
  })
})
