// The watcher on a real anvil: a cheating party registers an old state and the honest party's
// watcher refutes it alone; forced states are adopted and re-run in the sandbox; a stalled party
// is taken to chain; the watcher survives an endpoint that drops and comes back.
import assert from 'node:assert/strict'
import { bytesToHex, parseEther, type Hex } from 'viem'
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
import { encodeState, getChannelId, hashStateStruct, type ChannelParams, type SignedState, type State } from '../../engine/channel/index.ts'
import { runTransition } from '../../engine/sandbox/index.ts'
import { createWatcher, type ForcedState, type Watcher, type WatcherEvent } from '../../engine/watcher/createWatcher.ts'
import { CHALLENGE, startChainFixture, type ChainFixture, type Party } from '../support/anvilFixture.ts'
import { startRpcProxy } from '../support/anvilProxy.ts'

/** The lead's store stands behind this port; the tests use a map. */
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
  const watchers: Watcher[] = []
  before(async () => {
    f = await startChainFixture()
  })
  afterEach(async () => {
    for (const w of watchers.splice(0)) await w.stop()
  })
  after(async () => {
    await f?.stop()
  })

  /** One off-chain step, as the protocol runs it: the sandbox at the chain head's Env, then both sign. */
  async function offChain(params: ChannelParams, from: State, mover: bigint, action: Hex): Promise<SignedState> {
    const block = await f.alice.client.publicClient.getBlock()
    const r = await runTransition(f.sandbox, { params, from, mover, action, env: { blockNumber: block.number, timestamp: block.timestamp }, appCode: escrowApp.code, appAbi: Escrow.abi })
    assert(r.ok, r.ok ? '' : r.message)
    return f.cosign(params, r.state)
  }

  /** A channel of 5 + 5 ETH, funded on chain by both. `payer` is the Escrow payer's index. */
  async function openChannel(payer: 0 | 1): Promise<{ params: ChannelParams; id: Hex; v0: SignedState }> {
    const params = f.escrowParams()
    const id = getChannelId(params)
    await deposit(f.alice.client, { channelId: id, participant: f.alice.address, amount: parseEther('5') })
    await deposit(f.bob.client, { channelId: id, participant: f.bob.address, amount: parseEther('5') })
    const v0 = f.cosign(params, f.state(params, 0n, [parseEther('5'), parseEther('5')], { payer, payee: payer === 0 ? 1 : 0 }))
    return { params, id, v0 }
  }

  function startWatcher(party: Party, store: ReturnType<typeof memoryStore>, extra: Partial<Parameters<typeof createWatcher>[0]> = {}): Watcher {
    const w = createWatcher({ client: party.client, store, moverKey: party.privateKey, pollingIntervalMs: 50, ...extra })
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

  it('a cheater registers an old state; the honest watcher refutes it alone and conclude pays the honest balances to the wei', async () => {
    const { params, id, v0 } = await openChannel(1) // bob pays alice through the escrow
    const v1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('2'), 10n ** 12n))
    const v2 = await offChain(params, v1.state, 1n, escrowActions.release())
    assert.deepEqual(v2.state.balances, [parseEther('7'), parseEther('3')])
    const aliceStore = memoryStore()
    aliceStore.put(v2)

    const events: WatcherEvent[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onEvent: (e) => events.push(e) })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    // Bob, whose latest balance is 3 ETH, puts version 1 (5 ETH each) on chain.
    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    await register(f.bob.client, { params, signed: v1 })
    const r = await refuted
    assert(r.type === 'refuted')
    assert.equal(r.staleVersion, 1n)
    assert.equal(r.version, 2n)
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
    assert(events.some((e) => e.type === 'registered' && e.state.version === 1n), 'the watcher saw the stale registration in the logs')

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
  })

  it('a cheater forces a step on an old co-signed state; the watcher replaces the forced chain with its newer co-signed state', async () => {
    const { params, id, v0 } = await openChannel(1)
    const v1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('2'), 10n ** 12n))
    const v2 = await offChain(params, v1.state, 1n, escrowActions.release())
    const aliceStore = memoryStore()
    aliceStore.put(v2)
    const adopted: ForcedState[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onForcedState: (s) => void adopted.push(s) })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    const progressed = watcher.waitFor((e) => e.type === 'progressed')
    const action = escrowActions.fund(parseEther('1'), 10n ** 12n)
    const forced = await forceProgress(f.bob.client, { params, from: v0.state, fromSignatures: v0.signatures, mover: 1n, action, moverSignature: signMove(params, v0.state, 1n, action, f.bob.privateKey) })
    assert.equal(forced.state.version, 1n)
    await progressed
    const r = await refuted
    assert(r.type === 'refuted' && r.staleVersion === 1n && r.version === 2n)
    assert.equal(adopted.length, 0, 'a forced state older than the co-signed one is not adopted')
    const rec = await getChannelRecord(f.alice.client, id)
    assert.equal(rec.version, 2n)
  })

  it('a cheater forces its own step to the version of the latest co-signed state; the watcher puts the co-signed state back', async () => {
    const { params, id, v0 } = await openChannel(1)
    const v1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('2'), 10n ** 12n))
    const aliceStore = memoryStore()
    aliceStore.put(v1)
    const adopted: ForcedState[] = []
    const watcher = startWatcher(f.alice, aliceStore, { onForcedState: (s) => void adopted.push(s) })
    watcher.watch(params)
    watcher.start()
    await watcher.poll()

    const refuted = watcher.waitFor((e) => e.type === 'refuted')
    // Bob forces a different step on v0: version 1, like the co-signed v1, but his own.
    const action = escrowActions.fund(parseEther('1'), 10n ** 12n)
    const forced = await forceProgress(f.bob.client, { params, from: v0.state, fromSignatures: v0.signatures, mover: 1n, action, moverSignature: signMove(params, v0.state, 1n, action, f.bob.privateKey) })
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

  it('a stalled party is taken to chain: each side forces a step, the other side adopts it, and the sandbox agrees byte for byte', async () => {
    const { params, id, v0 } = await openChannel(0) // alice pays bob through the escrow
    const v1 = await offChain(params, v0.state, 0n, escrowActions.fund(parseEther('1'), 10n ** 12n))
    const aliceStore = memoryStore()
    const bobStore = memoryStore()
    aliceStore.put(v1)
    bobStore.put(v1)

    const adoptedBy = { alice: [] as ForcedState[], bob: [] as ForcedState[] }
    const checkAndAdopt = (who: 'alice' | 'bob') => async (forced: ForcedState) => {
      assert(forced.base !== undefined, 'the watcher knows the base of the forced step')
      const again = await runTransition(f.sandbox, { params: forced.params, from: forced.base, mover: forced.mover, action: forced.action, env: forced.env, appCode: escrowApp.code })
      assert(again.ok)
      assert.equal(encodeState(again.state), encodeState(forced.state), 'the sandbox re-run gives the forced state')
      adoptedBy[who].push(forced)
    }
    const aliceWatcher = startWatcher(f.alice, aliceStore, { onForcedState: checkAndAdopt('alice') })
    const bobWatcher = startWatcher(f.bob, bobStore, { onForcedState: checkAndAdopt('bob') })
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
    assert.deepEqual(adoptedBy.alice.map((s) => s.state.version), [2n, 3n])
    assert.deepEqual(adoptedBy.bob.map((s) => s.state.version), [2n, 3n])

    await f.increaseTime(CHALLENGE)
    const paid = await conclude(f.carol.client, { params, state: r3.state })
    assert.deepEqual(paid.payouts, [parseEther('4'), parseEther('6')])
  })

  it('survives an endpoint that drops: a registration made while it is down is refuted once it is back', async () => {
    const proxy = await startRpcProxy(f.anvil.rpcUrl)
    try {
      const { params, v0 } = await openChannel(1)
      const v1 = await offChain(params, v0.state, 1n, escrowActions.fund(parseEther('2'), 10n ** 12n))
      const v2 = await offChain(params, v1.state, 1n, escrowActions.release())
      const store = memoryStore()
      store.put(v2)
      const client = await createAdjudicatorClient({ rpcUrl: proxy.url, address: f.deployment.adjudicator.address, privateKey: f.alice.privateKey, chainId: f.anvil.chainId, retryCount: 0 })
      const events: WatcherEvent['type'][] = []
      const watcher = createWatcher({ client, store, pollingIntervalMs: 50, onEvent: (e) => events.push(e.type) })
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
