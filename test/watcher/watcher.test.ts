// The watcher on a real anvil: a cheating party registers an old state, or forces a chain over an
// old base in one block, and the honest party's watcher refutes it alone (never adopting the
// chain); an honest forced chain is handed over whole and re-runs in the sandbox; a stalled party
// is taken to chain; reorganisations (evm_snapshot / evm_revert) do not hide a stale
// registration; a watcher resumes from its checkpoint or starts in the middle of a dispute; it
// survives an endpoint that drops and comes back.
import assert from 'node:assert/strict'
import { bytesToHex, createTestClient, http, parseEther, type Hex } from 'viem'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { escrowActions, escrowApp, signRuling } from '../../apps/escrow/escrowClient.ts'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { createAdjudicatorClient } from '../../engine/adjudicator/createAdjudicatorClient.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { withdraw } from '../../engine/adjudicator/withdraw.ts'
import {
  encodeState,
  getChannelId,
  hashStateStruct,
  type ChannelParams,
  type ForcedChain,
  type SignedState,
  type State,
} from '../../engine/channel/index.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { runTransition } from '../../engine/sandbox/index.ts'
import { createWatcher, type Watcher } from '../../engine/watcher/createWatcher.ts'
import type { WatcherEvent } from '../../engine/watcher/types.ts'
import { CHALLENGE, startChainFixture, type ChainFixture, type Party } from '../support/anvilFixture.ts'
import { startRpcProxy } from '../support/anvilProxy.ts'

/** The party's store stands behind this port; the tests use a map. */
function memoryStore() {
  const latest = new Map<string, SignedState>()
  return {
    put(s: SignedState): void {
      latest.set(s.state.channelId.toLowerCase(), s)
    },
    async getLatestSignedState(channelId: Hex): Promise<SignedState | undefined> {
      return latest.get(channelId.toLowerCase())
    },
  }
}

describe('watcher (on anvil)', function () {
  let f: ChainFixture
  let test: ReturnType<typeof createTestClient>
  const watchers: Watcher[] = []
  before(async () => {
    f = await startChainFixture()
    test = createTestClient({ mode: 'anvil', transport: http(f.anvil.rpcUrl) })
  })
  afterEach(async () => {
    for (const w of watchers.splice(0)) await w.stop()
  })
  after(async () => {
    await f?.stop()
  })

  /** One off-chain step, as the protocol runs it: the sandbox at the chain head's Env, then both sign. */
  async function offChain(
    params: ChannelParams,
    from: State,
    mover: bigint,
    action: Hex,
  ): Promise<SignedState> {
    const block = await f.alice.client.publicClient.getBlock()
    const r = await runTransition(f.sandbox, {
      params,
      from,
      mover,
      action,
      env: { blockNumber: block.number, timestamp: block.timestamp },
      appCode: escrowApp.code,
      appAbi: Escrow.abi,
    })
    assert(r.ok, r.ok ? '' : r.message)
    return f.cosign(params, r.state)
  }

  /** A channel of 5 + 5 ETH, funded on chain by both. `payer` is the Escrow payer's index. */
  async function openChannel(payer: 0 | 1): Promise<{ params: ChannelParams; id: Hex; v0: SignedState }> {
    const params = f.escrowParams()
    const id = getChannelId(params)
    await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: parseEther('5') })
    await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: parseEther('5') })
    const v0 = f.cosign(
      params,
      f.state(params, 0n, [parseEther('5'), parseEther('5')], { payer, payee: payer === 0 ? 1 : 0 }),
    )
    return { params, id, v0 }
  }

  /** Bob pays alice 2 ETH through the escrow: v1 funds, v2 releases ([7, 3] ETH). */
  async function bobPaysAlice(): Promise<{
    params: ChannelParams
    id: Hex
    v0: SignedState
    v1: SignedState
    v2: SignedState
  }> {
    const { params, id, v0 } = await openChannel(1)
    const v1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('2'), 10n ** 12n))
    const v2 = await offChain(params, v1.state, 1n, escrowActions.release())
    assert.deepEqual(v2.state.balances, [parseEther('7'), parseEther('3')])
    return { params, id, v0, v1, v2 }
  }

  function startWatcher(
    party: Party,
    store: ReturnType<typeof memoryStore>,
    extra: Partial<Parameters<typeof createWatcher>[0]> = {},
  ): Watcher {
    const w = createWatcher({
      client: party.client,
      store,
      signer: createKeySigner(party.privateKey),
      pollingIntervalMs: 50,
      ...extra,
    })
    watchers.push(w)
    return w
  }

  /** Withdraws a party's credit and checks its ETH balance grew by exactly `amount` minus the gas it paid. */
  async function withdrawExactly(party: Party, amount: bigint): Promise<void> {
    const pc = party.client.publicClient
    const before = await pc.getBalance({ address: party.address })
    const r = await withdraw(party.client)
    assert.equal(r.amount, amount)
    const receipt = await pc.getTransactionReceipt({ hash: r.hash })
    const after = await pc.getBalance({ address: party.address })
    assert.equal(after, before + amount - receipt.gasUsed * receipt.effectiveGasPrice, 'paid to the wei')
  }

  /** Re-runs every move of a forced chain in the sandbox from its base, with each move's Env. */
  async function rerun(params: ChannelParams, chain: ForcedChain): Promise<void> {
    let from = chain.base
    for (const m of chain.moves) {
      const again = await runTransition(f.sandbox, {
        params,
        from,
        mover: m.mover,
        action: m.action,
        env: m.env,
        appCode: escrowApp.code,
      })
      assert(again.ok, again.ok ? '' : again.message)
      assert.equal(
        encodeState(again.state),
        encodeState(m.state),
        'the sandbox re-run gives the forced state',
      )
      from = m.state
    }
  }

  it('a cheater registers an old state; the honest watcher refutes it alone and conclude pays the honest balances to the wei', async () => {
    const { params, id, v1, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)

    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onEvent: (e) => events.push(e) })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    // Bob, whose latest balance is 3 ETH, puts version 1 (5 ETH each) on chain.
    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    const seenV2 = watcher.waitFor((e) => e.type === 'registered' && e.state.version === 2n)
    await register(f.bob.client, { params, signed: v1 })
    const r = await refuted
    assert(r.type === 'refuted')
    assert.equal(r.staleVersion, 1n)
    assert.equal(r.version, 2n)
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
    assert(
      events.some((e) => e.type === 'registered' && e.state.version === 1n),
      'the watcher saw the stale registration in the logs',
    )
    await seenV2

    await f.increaseTime(CHALLENGE)
    const concluded = watcher.waitFor((e) => e.type === 'concluded')
    const held = watcher.channel(id)?.held
    assert(held !== undefined)
    assert.equal(encodeState(held), encodeState(v2.state))
    await conclude(f.carol.client, { params, state: held })
    const c = await concluded
    assert(c.type === 'concluded')
    assert.deepEqual(c.payouts, [parseEther('7'), parseEther('3')])
    await withdrawExactly(f.alice, parseEther('7'))
    await withdrawExactly(f.bob, parseEther('3'))
    assert(!events.some((e) => e.type === 'error'), 'no errors')
  })

  it('a cheater forces a step on an old co-signed state; the watcher reports the overwrite and replaces the chain with its newer co-signed state', async () => {
    const { params, id, v0, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const adopted: ForcedChain[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onForcedChain: (c) => void adopted.push(c) })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    const overwrote = watcher.waitFor((e) => e.type === 'overwrote')
    const action = escrowActions.fund(parseEther('1'), 10n ** 12n)
    const forced = await forceProgress(f.bob.client, {
      params,
      from: v0.state,
      fromSignatures: v0.signatures,
      mover: 1n,
      action,
      moverSignature: signMove(params, v0.state, 1n, action, f.bob.privateKey),
    })
    assert.equal(forced.state.version, 1n)
    const o = await overwrote
    assert(o.type === 'overwrote' && o.reason === 'older-base' && o.latestVersion === 2n)
    assert.equal(encodeState(o.chain.base), encodeState(v0.state), 'the chain starts at the registered v0')
    const r = await refuted
    assert(r.type === 'refuted' && r.staleVersion === 1n && r.version === 2n)
    assert.equal(adopted.length, 0, 'a chain over an older base is not adopted')
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
    assert.equal(rec.baseVersion, 2n)
  })

  it('a cheater forces its own step to the version of the latest co-signed state; the watcher puts the co-signed state back', async () => {
    const { params, id, v0 } = await openChannel(1)
    const v1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('2'), 10n ** 12n))
    const aliceStore = memoryStore()
    aliceStore.put(v1)
    const adopted: ForcedChain[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onForcedChain: (c) => void adopted.push(c) })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    // Bob forces a different step on v0: version 1, like the co-signed v1, but his own.
    const action = escrowActions.fund(parseEther('1'), 10n ** 12n)
    const forced = await forceProgress(f.bob.client, {
      params,
      from: v0.state,
      fromSignatures: v0.signatures,
      mover: 1n,
      action,
      moverSignature: signMove(params, v0.state, 1n, action, f.bob.privateKey),
    })
    assert.equal(forced.state.version, 1n)
    assert.notEqual(encodeState(forced.state), encodeState(v1.state))
    const r = await refuted
    assert(r.type === 'refuted' && r.staleVersion === 1n && r.version === 1n)
    assert.equal(adopted.length, 0, 'a forced state at the co-signed version is not adopted')
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 1n)
    assert.equal(rec.forced, false)
    assert.equal(rec.stateHash, bytesToHex(hashStateStruct(v1.state)))
  })

  it('a forced chain over an old base in ONE block (v0 -> v3 past our v2): refuted, reported, never adopted; conclude pays v2 to the wei', async () => {
    const { params, id, v0, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const adopted: ForcedChain[] = []
    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, {
      onForcedChain: (c) => void adopted.push(c),
      onEvent: (e) => events.push(e),
    })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    // Bob holds v0 and forces fund -> arbiter ruling for himself -> close: v3, final, 5 ETH each.
    const s1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('1'), 10n ** 12n))
    const ruling = escrowActions.ruling(false, signRuling(params, id, 0n, false, f.arbiter.privateKey))
    const s2 = await offChain(params, s1.state, 1n, ruling)
    const s3 = await offChain(params, s2.state, 1n, escrowActions.close())
    assert.equal(s3.state.isFinal, true)
    const steps = [
      {
        from: v0.state,
        fromSignatures: v0.signatures,
        action: escrowActions.fund(parseEther('1'), 10n ** 12n),
      },
      { from: s1.state, action: ruling },
      { from: s2.state, action: escrowActions.close() },
    ].map((s) => ({
      ...s,
      mover: 1n,
      moverSignature: signMove(params, s.from, 1n, s.action, f.bob.privateKey),
    }))
    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    const tx = await f.forceMany(f.bob.client, params, steps)
    assert.deepEqual(
      tx.events.map((e) => e.eventName),
      ['Registered', 'Progressed', 'Progressed', 'Progressed'],
      'the whole chain in one transaction',
    )
    const r = await refuted
    assert(r.type === 'refuted' && r.staleVersion === 3n && r.version === 2n)

    const reports = events.filter((e) => e.type === 'overwrote')
    assert.equal(reports.length, 1, 'reported once')
    const report = reports[0]
    assert(report?.type === 'overwrote')
    assert.equal(report.reason, 'older-base')
    assert.equal(report.latestVersion, 2n)
    assert.equal(encodeState(report.chain.base), encodeState(v0.state))
    assert.deepEqual(
      report.chain.moves.map((m) => m.state.version),
      [1n],
      'reported at its first move',
    )
    const lastStep = events.findLast((e) => e.type === 'progressed')
    assert(lastStep?.type === 'progressed' && lastStep.chain !== undefined)
    assert.deepEqual(
      lastStep.chain.moves.map((m) => m.state.version),
      [1n, 2n, 3n],
      'the logs show the whole chain',
    )
    assert.equal(lastStep.chain.moves[0]?.env.blockNumber, tx.blockNumber)
    await rerun(params, lastStep.chain)
    assert.equal(adopted.length, 0, 'never handed to onForcedChain')

    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
    assert.equal(rec.forced, false)
    assert.equal(rec.stateHash, bytesToHex(hashStateStruct(v2.state)))
    await f.increaseTime(CHALLENGE)
    const paid = await conclude(f.carol.client, { params, state: v2.state })
    assert.deepEqual(paid.payouts, [parseEther('7'), parseEther('3')])
    await withdrawExactly(f.alice, parseEther('7'))
    await withdrawExactly(f.bob, parseEther('3'))
  })

  it('an honest forced chain from our latest co-signed state is handed over whole; a watcher started mid-dispute hands over the same chain', async () => {
    const { params, id, v0 } = await openChannel(0) // alice pays bob through the escrow
    const v1 = await offChain(params, v0.state, 0n, escrowActions.fund(parseEther('1'), 10n ** 12n))
    const aliceStore = memoryStore()
    aliceStore.put(v1)
    const adopted: ForcedChain[] = []
    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, {
      onForcedChain: (c) => void adopted.push(c),
      onEvent: (e) => events.push(e),
    })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    // Alice stalls; bob goes to chain from the co-signed v1 with the arbiter's ruling, then closes.
    const ruling = escrowActions.ruling(true, signRuling(params, id, 0n, true, f.arbiter.privateKey))
    const s2 = await offChain(params, v1.state, 1n, ruling)
    const steps = [
      { from: v1.state, fromSignatures: v1.signatures, action: ruling },
      { from: s2.state, action: escrowActions.close() },
    ].map((s) => ({
      ...s,
      mover: 1n,
      moverSignature: signMove(params, s.from, 1n, s.action, f.bob.privateKey),
    }))
    const saw3 = watcher.waitFor((e) => e.type === 'progressed' && e.state.version === 3n)
    await f.forceMany(f.bob.client, params, steps)
    await saw3
    await watcher.poll()

    assert.deepEqual(
      adopted.map((c) => c.moves.map((m) => m.state.version)),
      [[2n], [2n, 3n]],
      'the whole chain at every move',
    )
    const last = adopted.at(-1)
    assert(last !== undefined)
    assert.equal(encodeState(last.base), encodeState(v1.state), 'from our exact co-signed state')
    assert.deepEqual(last.moves.at(-1)?.state.balances, [parseEther('4'), parseEther('6')])
    await rerun(params, last)
    assert(!events.some((e) => e.type === 'refuted' || e.type === 'overwrote' || e.type === 'error'))
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 3n)
    assert.equal(rec.baseVersion, 1n)

    // A watcher that starts now, with no history, reads the dispute from the block it opened in.
    await f.increaseTime(1n)
    const late: ForcedChain[] = []
    const lateWatcher = startWatcher(f.alice, aliceStore, { onForcedChain: (c) => void late.push(c) })
    lateWatcher.watch(params)
    await lateWatcher.poll()
    assert.equal(late.length, 1)
    assert.deepEqual(late[0], last, 'the same chain, base and every move with its Env')
  })

  it('a stalled party is taken to chain: each side forces a step, the other side adopts the chain, and the sandbox agrees byte for byte', async () => {
    const { params, id, v0 } = await openChannel(0) // alice pays bob through the escrow
    const v1 = await offChain(params, v0.state, 0n, escrowActions.fund(parseEther('1'), 10n ** 12n))
    const aliceStore = memoryStore()
    const bobStore = memoryStore()
    aliceStore.put(v1)
    bobStore.put(v1)

    const adoptedBy = { alice: [] as ForcedChain[], bob: [] as ForcedChain[] }
    const checkAndAdopt = (who: 'alice' | 'bob') => async (chain: ForcedChain) => {
      assert.equal(encodeState(chain.base), encodeState(v1.state), 'the chain grew from the co-signed v1')
      await rerun(params, chain)
      adoptedBy[who].push(chain)
    }
    const aliceWatcher = startWatcher(f.alice, aliceStore, { onForcedChain: checkAndAdopt('alice') })
    const bobWatcher = startWatcher(f.bob, bobStore, { onForcedChain: checkAndAdopt('bob') })
    aliceWatcher.watch(params)
    bobWatcher.watch(params)
    aliceWatcher.start()
    bobWatcher.start()
    await Promise.all([aliceWatcher.poll(), bobWatcher.poll()])

    // The arbiter rules for bob; alice does not answer bob's proposal. Bob's watcher goes to chain
    // from the co-signed v1 (registered in the same call).
    const ruling = escrowActions.ruling(true, signRuling(params, id, 0n, true, f.arbiter.privateKey))
    const aliceSaw2 = aliceWatcher.waitFor((e) => e.type === 'progressed' && e.state.version === 2n)
    const bobSaw2 = bobWatcher.waitFor((e) => e.type === 'progressed' && e.state.version === 2n)
    const r2 = await bobWatcher.forceProgress(id, { action: ruling })
    assert.equal(r2.state.version, 2n)
    assert.deepEqual(r2.state.balances, [parseEther('4'), parseEther('6')])
    await Promise.all([aliceSaw2, bobSaw2])

    // Alice closes the channel on top of the forced state (no newer co-signed state exists).
    const bobSaw3 = bobWatcher.waitFor((e) => e.type === 'progressed' && e.state.version === 3n)
    const r3 = await aliceWatcher.forceProgress(id, { action: escrowActions.close() })
    assert.equal(r3.state.isFinal, true)
    await bobSaw3
    await aliceWatcher.poll()
    for (const chains of [adoptedBy.alice, adoptedBy.bob]) {
      assert.deepEqual(
        chains.map((c) => c.moves.map((m) => m.state.version)),
        [[2n], [2n, 3n]],
      )
    }

    await f.increaseTime(CHALLENGE)
    const paid = await conclude(f.carol.client, { params, state: r3.state })
    assert.deepEqual(paid.payouts, [parseEther('4'), parseEther('6')])
  })

  it('reorg: a registration included after a revert, in blocks the watcher had read past, is still refuted', async () => {
    const { params, id, v1, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onEvent: (e) => events.push(e) })
    watcher.watch(params)
    await watcher.poll()

    const snapshot = await test.snapshot()
    const common = await f.alice.client.publicClient.getBlockNumber({ cacheTime: 0 })
    await test.mine({ blocks: 3 })
    await watcher.poll()
    assert.equal(watcher.checkpoint().cursor, common + 4n, 'the watcher read the three empty blocks')

    await test.revert({ id: snapshot })
    await register(f.bob.client, { params, signed: v1 }) // lands at common + 1: a block number read before
    await watcher.poll()
    const reorg = events.find((e) => e.type === 'reorg')
    assert(reorg?.type === 'reorg')
    assert.equal(reorg.commonBlock, common)
    assert(events.some((e) => e.type === 'registered' && e.state.version === 1n))
    const refuted = events.find((e) => e.type === 'refuted')
    assert(refuted?.type === 'refuted' && refuted.staleVersion === 1n && refuted.version === 2n)
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
    assert.equal(rec.stateHash, bytesToHex(hashStateStruct(v2.state)))
  })

  it('reorg: a stale registration seen and refuted, reverted away with the refutation, then registered again in another block, is refuted again', async () => {
    const { params, id, v1, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onEvent: (e) => events.push(e) })
    watcher.watch(params)
    await watcher.poll()

    const snapshot = await test.snapshot()
    const common = await f.alice.client.publicClient.getBlockNumber({ cacheTime: 0 })
    await register(f.bob.client, { params, signed: v1 })
    await watcher.poll() // sees v1, refutes with v2
    await watcher.poll() // sees its own v2
    assert.equal(events.filter((e) => e.type === 'refuted').length, 1)
    assert.equal(watcher.channel(id)?.version, 2n)

    // The revert drops both transactions. In a real reorganisation a dropped transaction goes back
    // to the mempool and keeps its nonce; anvil forgets it, so the nonces the clients already used
    // are set back as taken.
    const nonces = await Promise.all(
      [f.alice, f.bob].map((p) => p.client.publicClient.getTransactionCount({ address: p.address })),
    )
    await test.revert({ id: snapshot })
    await test.setNonce({ address: f.alice.address, nonce: nonces[0] ?? 0 })
    await test.setNonce({ address: f.bob.address, nonce: nonces[1] ?? 0 })
    assert.equal((await getChannelRecord(f.alice.client, id)).status, 'open')
    await test.mine({ blocks: 1 })
    const again = await register(f.bob.client, { params, signed: v1 })
    assert.equal(again.blockNumber, common + 2n, 'registered again one block later than the first time')

    await watcher.poll()
    const reorg = events.find((e) => e.type === 'reorg')
    assert(reorg?.type === 'reorg' && reorg.commonBlock === common)
    const refutations = events.filter((e) => e.type === 'refuted')
    assert.equal(refutations.length, 2, 'refuted again after the reorganisation')
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
    assert.equal(rec.stateHash, bytesToHex(hashStateStruct(v2.state)))
    await watcher.poll()
    assert.equal(watcher.channel(id)?.version, 2n)
  })

  it('with confirmations, a registration is acted on once confirmed, and refuted once although the view lags behind', async () => {
    const { params, id, v1, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, {
      confirmations: 2n,
      onEvent: (e) => e.type !== 'deposited' && events.push(e),
    })
    watcher.watch(params)
    await watcher.poll()

    await register(f.bob.client, { params, signed: v1 })
    await watcher.poll()
    assert.equal(events.length, 0, 'not confirmed yet: not read')
    await test.mine({ blocks: 2 })
    await watcher.poll()
    assert.deepEqual(
      events.map((e) => e.type),
      ['registered', 'refuted'],
    )
    // Its own registration is not confirmed yet, so the view still holds v1: the newest record
    // keeps it from registering again.
    for (let i = 0; i < 3; i++) await watcher.poll()
    assert.equal(watcher.channel(id)?.version, 1n)
    assert.equal(events.filter((e) => e.type === 'refuted' || e.type === 'error').length, 1)
    await test.mine({ blocks: 2 })
    await watcher.poll()
    assert.equal(watcher.channel(id)?.version, 2n)
    assert.equal((await getChannelRecord(f.alice.client, id)).version, 2n)
  })

  it('resumes from its checkpoint: a registration made while it was stopped is reported and refuted', async () => {
    const { params, id, v1, v2 } = await bobPaysAlice()
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const first = startWatcher(f.alice, aliceStore)
    first.watch(params)
    await first.poll()
    await first.stop()
    const checkpoint = first.checkpoint()
    assert.notEqual(checkpoint.cursor, undefined)
    assert(checkpoint.blocks.length > 0)

    await register(f.bob.client, { params, signed: v1 })
    await f.increaseTime(1n)

    const events: WatcherEvent[] = []
    const resumed = startWatcher(f.alice, aliceStore, {
      fromCheckpoint: checkpoint,
      onEvent: (e) => events.push(e),
    })
    resumed.watch(params)
    await resumed.poll()
    assert(
      events.some((e) => e.type === 'registered' && e.state.version === 1n),
      'the gap is read, not skipped',
    )
    const refuted = events.find((e) => e.type === 'refuted')
    assert(refuted?.type === 'refuted' && refuted.version === 2n)
    assert.equal((await getChannelRecord(f.alice.client, id)).version, 2n)
  })

  it('survives an endpoint that drops: a registration made while it is down is refuted once it is back', async () => {
    const proxy = await startRpcProxy(f.anvil.rpcUrl)
    try {
      const { params, v1, v2 } = await bobPaysAlice()
      const store = memoryStore()
      store.put(v2)
      const client = await createAdjudicatorClient({
        rpcUrl: proxy.url,
        address: f.deployment.adjudicator.address,
        privateKey: f.alice.privateKey,
        chainId: f.anvil.chainId,
        retryCount: 0,
      })
      const events: WatcherEvent['type'][] = []
      const watcher = createWatcher({
        client,
        store,
        pollingIntervalMs: 50,
        onEvent: (e) => events.push(e.type),
      })
      watchers.push(watcher)
      watcher.watch(params)
      watcher.start()
      await watcher.poll()

      const wentDown = watcher.waitFor((e) => e.type === 'rpc-down')
      proxy.setDown(true)
      await wentDown
      await register(f.bob.client, { params, signed: v1 })
      await f.increaseTime(1n) // more blocks pass while the watcher is blind
      assert(!events.includes('refuted'))

      const refuted = watcher.waitFor((e) => e.type === 'refuted')
      proxy.setDown(false)
      const r = await refuted
      assert(r.type === 'refuted' && r.staleVersion === 1n && r.version === 2n)
      assert(proxy.refused() > 0)
      assert(events.indexOf('rpc-down') < events.indexOf('rpc-up'))
      assert(events.indexOf('rpc-up') < events.indexOf('refuted'))
    } finally {
      await proxy.close()
    }
  })
})
