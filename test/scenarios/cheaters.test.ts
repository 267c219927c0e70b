// Role scripts on a real anvil: a cheating counterparty acts on chain (and on the wire), the honest
// party runs as chanvm runs it (SQLite store, watcher on), and the honest party ends with what its
// latest co-signed state gives it, to the wei.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther, type Hex } from 'viem'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import {
  encodeState,
  getChannelId,
  type ChannelParams,
  type SignedState,
  type State,
} from '../../engine/channel/index.ts'
import { createMemoryHub, type MemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { startChainFixture, type ChainFixture } from '../support/anvilFixture.ts'
import {
  chainControl,
  confirmFunding,
  eventually,
  forcedChainSteps,
  startParticipant,
  type Participant,
} from './roles.ts'

const ETH = (n: string) => parseEther(n)
const FAR = 10n ** 12n

describe('scenarios: a cheating counterparty against an honest party with its watcher (on anvil)', function () {
  this.timeout(180_000)
  let f: ChainFixture
  let dir: string
  const running: Participant[] = []

  before(async () => {
    f = await startChainFixture()
    dir = mkdtempSync(join(tmpdir(), 'chanvm-cheaters-'))
  })
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop().catch(() => undefined)
  })
  after(async () => {
    await f?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Alice (payer) and Bob (payee) open an Escrow channel of 5 ETH each, fund it, and co-sign
   * FUND 3 ETH (v1) and RELEASE (v2): the latest co-signed state pays Bob 8 ETH. */
  async function dealAtV2(hub: MemoryHub, tag: string) {
    const params = f.escrowParams()
    const channelId = getChannelId(params)
    const initial = f.state(params, 0n, [ETH('5'), ETH('5')])
    const alice = await startParticipant(f, f.alice, { hub, dir, name: `${tag}-alice`, params })
    const bob = await startParticipant(f, f.bob, { hub, dir, name: `${tag}-bob`, params })
    running.push(alice, bob)
    await Promise.all([alice.party.open(params, initial), bob.party.open(params, initial)])
    await deposit(f.alice.client, { channelId, participant: f.alice.address, amount: ETH('5') })
    await deposit(f.bob.client, { channelId, participant: f.bob.address, amount: ETH('5') })
    for (const r of await confirmFunding(params, channelId, [alice, bob])) assert.ok(r.ok)
    const v1 = await alice.party.update(channelId, escrowActions.fund(ETH('3'), FAR))
    assert.ok(v1.ok, v1.ok ? '' : v1.reason)
    const v2 = await alice.party.update(channelId, escrowActions.release())
    assert.ok(v2.ok, v2.ok ? '' : v2.reason)
    await bob.party.waitForVersion(channelId, 2n, 60_000) // a commit may outlast the response time under load
    const v0 = await alice.store.getSignedState(channelId, 0n)
    assert(v0)
    return { params, channelId, alice, bob, v0, v2: v2.signed }
  }

  async function concludeAndPayouts(params: ChannelParams, held: State) {
    const rec = await getChannelRecord(f.bob.client, getChannelId(params))
    const now = await f.now()
    if (now < rec.finalizesAt) await f.increaseTime(rec.finalizesAt - now)
    const before = [
      await getWithdrawable(f.alice.client, f.alice.address),
      await getWithdrawable(f.bob.client, f.bob.address),
    ]
    await conclude(f.bob.client, { params, state: held })
    const after = [
      await getWithdrawable(f.alice.client, f.alice.address),
      await getWithdrawable(f.bob.client, f.bob.address),
    ]
    return after.map((a, i) => a - (before[i] ?? 0n))
  }

  it('a forced chain grown in one transaction from an old co-signed state is refuted; Bob is paid by v2', async () => {
    const hub = createMemoryHub()
    const { params, channelId, alice, bob, v0, v2 } = await dealAtV2(hub, 'chain')
    // Alice goes dark and cheats: v0 registered and three moves of her own forced on it, v1'..v3',
    // all in one transaction, so the chain passes Bob's v2 before anyone can answer.
    await alice.stop()
    const env = { blockNumber: 0n, timestamp: await f.now() }
    const moves = [escrowActions.fund(1n, FAR), escrowActions.release(), escrowActions.fund(1n, FAR)]
    const { steps, states } = await forcedChainSteps(
      f,
      params,
      v0,
      moves.map((action) => ({ mover: 0n, action, key: f.alice.privateKey })),
      env,
    )
    const forced = await f.forceMany(f.alice.client, params, steps)
    // Read as of the cheater's block: Bob's watcher may refute it in the next one before this read.
    const cheated = await getChannelRecord(f.bob.client, channelId, { blockNumber: forced.blockNumber })
    assert.equal(cheated.version, 3n, 'the chain grew past the latest co-signed version')
    assert.equal(cheated.baseVersion, 0n)

    // Bob's watcher reports the overwrite, registers v2 over the whole chain, and Bob never
    // builds on the cheater's chain.
    await eventually('Bob refutes the chain', () =>
      bob.watcherEvents.some((e) => e.type === 'refuted' && e.version === 2n),
    )
    assert.ok(
      bob.watcherEvents.some((e) => e.type === 'overwrote'),
      'the overwrite is reported',
    )
    const held = await getChannelRecord(f.bob.client, channelId)
    assert.equal(held.version, 2n)
    assert.equal(held.baseVersion, 2n)
    assert.equal(encodeState((await bob.party.base(channelId))!), encodeState(v2.state), 'Bob builds on v2')
    assert.ok(!bob.partyEvents.some((e) => e.type === 'adopted'), 'the cheater chain is never adopted')
    assert.notEqual(encodeState(states[2]!), encodeState(v2.state))

    const paid = await concludeAndPayouts(params, v2.state)
    assert.deepEqual(paid, [ETH('2'), ETH('8')], 'paid by the latest co-signed state, to the wei')
  })

  it('a stale registration hidden by a reorganisation is still refuted', async () => {
    const hub = createMemoryHub()
    const { params, channelId, alice, bob, v0, v2 } = await dealAtV2(hub, 'reorg')
    await alice.stop()
    const chain = chainControl(f)
    const snap = await chain.snapshot()
    await register(f.alice.client, { params, signed: v0 })
    await eventually('Bob refutes the first registration', () =>
      bob.watcherEvents.some((e) => e.type === 'refuted' && e.version === 2n),
    )
    // The blocks with Alice's registration and Bob's refutation are replaced by a chain where
    // Alice's registration lands in a different block and Bob's refutation never happened.
    const refutations = () => bob.watcherEvents.filter((e) => e.type === 'refuted').length
    const seen = refutations()
    await chain.revert(snap)
    await chain.mine(2)
    await register(f.alice.client, { params, signed: v0 })
    await eventually('Bob refutes again after the reorganisation', async () => {
      const rec = await getChannelRecord(f.bob.client, channelId)
      return refutations() > seen && rec.version === 2n
    })
    assert.ok(
      bob.watcherEvents.some((e) => e.type === 'reorg'),
      'the reorganisation is reported',
    )
    const paid = await concludeAndPayouts(params, v2.state)
    assert.deepEqual(paid, [ETH('2'), ETH('8')])
  })

  it('alternating forced moves cannot keep a dispute open past t0 + 2D; honest moves are adopted', async () => {
    const hub = createMemoryHub()
    const { params, channelId, alice, bob, v2 } = await dealAtV2(hub, 'endless')
    await alice.stop()
    const D = params.challengeDuration
    // Alice registers the latest state herself and keeps forcing trivial moves on it.
    const opened = await register(f.alice.client, { params, signed: v2 })
    const t0 = opened.finalizesAt - D
    assert.equal(opened.movesUntil, t0 + D)
    let from: State = v2.state
    let forcedMoves = 0
    const actions = [escrowActions.fund(1n, FAR), escrowActions.release()]
    for (;;) {
      await f.increaseTime(D / 4n)
      const action = actions[forcedMoves % 2]!
      const sig = signMove(params, from, 0n, action, f.alice.privateKey)
      try {
        const r = await forceProgress(f.alice.client, {
          params,
          from,
          mover: 0n,
          action,
          moverSignature: sig,
        })
        from = r.state
        forcedMoves++
      } catch (e) {
        assert.match(String((e as Error).message), /MovesClosed/)
        break
      }
    }
    assert.ok(forcedMoves >= 3, `Alice forced ${forcedMoves} moves before the move window closed`)
    const rec = await getChannelRecord(f.bob.client, channelId)
    assert.ok(rec.finalizesAt <= t0 + 2n * D, 'the dispute ends by t0 + 2D')
    // Alice's moves are legal and grew from Bob's latest co-signed state: Bob adopts them.
    await eventually('Bob adopts the honest forced chain', async () => {
      const base = await bob.party.base(channelId)
      return base !== undefined && encodeState(base) === encodeState(from)
    })
    const paid = await concludeAndPayouts(params, from)
    assert.deepEqual(paid, [from.balances[0], from.balances[1]])
    assert.ok(paid[1]! >= ETH('8'))
  })

  it('a party that never deposits cannot take the other deposit, and no step happens unfunded', async () => {
    const hub = createMemoryHub()
    const params = f.escrowParams()
    const channelId = getChannelId(params)
    const initial = f.state(params, 0n, [600n, 400n])
    const alice = await startParticipant(f, f.alice, { hub, dir, name: 'unfunded-alice', params })
    const bob = await startParticipant(f, f.bob, { hub, dir, name: 'unfunded-bob', params })
    running.push(alice, bob)
    const [v0] = await Promise.all([alice.party.open(params, initial), bob.party.open(params, initial)])
    await deposit(f.bob.client, { channelId, participant: f.bob.address, amount: 400n })
    const [forAlice, forBob] = await confirmFunding(params, channelId, [alice, bob])
    assert.ok(!forAlice!.ok && !forBob!.ok, 'Alice has not deposited: the channel is not funded')
    const step = await alice.party.update(channelId, escrowActions.fund(100n, FAR))
    assert.equal(step.ok ? 'ok' : step.reason, 'unfunded')

    // Alice registers v0 (600 for her, 400 for Bob) and concludes: the holdings do not cover it,
    // so each gets back exactly what it deposited.
    await register(f.alice.client, { params, signed: v0 })
    const paid = await concludeAndPayouts(params, v0.state)
    assert.deepEqual(paid, [0n, 400n])
  })

  it('signatures spelled other than canonically are never stored as co-signed', async () => {
    const hub = createMemoryHub()
    const params = f.escrowParams()
    const channelId = getChannelId(params)
    const initial = f.state(params, 0n, [ETH('1'), ETH('1')])
    const alice = await startParticipant(f, f.alice, { hub, dir, name: 'spelling-alice', params })
    // Once the channel is funded, every state signature reaching Bob is spelled '0X…' (viem's
    // hexToBytes would read it as the same bytes): Alice's accepts, and the commits she answers
    // Bob's sync requests with, so no canonical copy of her signature can reach him later.
    let respell = false
    const spell = (sig: Hex) => `0X${sig.slice(2)}` as Hex
    const bob = await startParticipant(f, f.bob, {
      hub,
      dir,
      name: 'spelling-bob',
      params,
      tamper: (m) => {
        if (!respell) return m
        if (m.type === 'accept') return { ...m, sig: spell(m.sig) }
        if (m.type === 'commit') return { ...m, sigs: m.sigs.map(spell) }
        if ((m.type === 'sync' || m.type === 'reject') && m.signed !== undefined)
          return { ...m, signed: { ...m.signed, sig: spell(m.signed.sig) } }
        return m
      },
    })
    running.push(alice, bob)
    await Promise.all([alice.party.open(params, initial), bob.party.open(params, initial)])
    await deposit(f.alice.client, { channelId, participant: f.alice.address, amount: ETH('1') })
    await deposit(f.bob.client, { channelId, participant: f.bob.address, amount: ETH('1') })
    for (const r of await confirmFunding(params, channelId, [alice, bob])) assert.ok(r.ok)

    respell = true
    const r = await bob.party.update(channelId, escrowActions.close())
    assert.notEqual(r.ok, true, 'a state signed in a non-canonical spelling is not co-signed')
    const latest = (await bob.party.latest(channelId)) as SignedState
    assert.equal(latest.state.version, 0n)
    // Whatever Bob holds as co-signed, the chain takes.
    await register(f.bob.client, { params, signed: latest })
    const rec = await getChannelRecord(f.bob.client, channelId)
    assert.equal(rec.version, 0n)
  })
})
