// Roles for the cheating-counterparty scenarios: an honest participant (a party with a SQLite
// store and its watcher running, wired as a node wires them) and helpers a cheater uses on chain.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createTestClient, http, type Hex } from 'viem'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import type { ChannelParams, Env, SignedState, State } from '../../engine/channel/types.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import type { Party, PartyEvent } from '../../engine/protocol/types.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import type { MemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'
import { createWatcher, type Watcher } from '../../engine/watcher/createWatcher.ts'
import type { WatcherEvent } from '../../engine/watcher/types.ts'
import type { ChainFixture, ForcedStep, Party as ChainParty } from '../support/anvilFixture.ts'

/** A participant as chanvm runs it: party, store and watcher, with everything they reported. */
export type Participant = {
  who: ChainParty
  party: Party
  watcher: Watcher
  store: ChannelStore
  partyEvents: PartyEvent[]
  watcherEvents: WatcherEvent[]
  stop(): Promise<void>
}

/** The chain head as a party's clock: proposals carry the latest block's number and time. */
export function chainClock(f: ChainFixture): () => Promise<Env> {
  return async () => {
    const b = await f.alice.client.publicClient.getBlock()
    return { blockNumber: b.number, timestamp: b.timestamp }
  }
}

/**
 * Starts a participant on `hub` with a SQLite file in `dir`: the watcher refutes outranked states
 * on its own and hands forced chains to the party, which re-runs them before it adopts them.
 */
export async function startParticipant(
  f: ChainFixture,
  who: ChainParty,
  opts: {
    hub: MemoryHub
    dir: string
    name: string
    params: ChannelParams
    /** Rewrites what reaches this participant: the bytes a cheating peer chose to send. */
    tamper?: (m: PeerMessage) => PeerMessage
  },
): Promise<Participant> {
  const signer = createKeySigner(who.privateKey)
  const store = createSqliteStore({ path: join(opts.dir, `${opts.name}.db`) })
  const partyEvents: PartyEvent[] = []
  const watcherEvents: WatcherEvent[] = []
  const wire = opts.hub.connect(who.address)
  const tamper = opts.tamper
  const transport: PeerTransport =
    tamper === undefined ? wire : { ...wire, onMessage: (h) => wire.onMessage((m) => h(tamper(m))) }
  const party = await createParty({
    signer,
    transport,
    store,
    sandbox: f.sandbox,
    apps: [escrowApp],
    clock: chainClock(f),
    responseTimeoutMs: 1_500,
    onEvent: (e) => partyEvents.push(e),
  })
  const watcher = createWatcher({
    client: who.client,
    store,
    signer,
    pollingIntervalMs: 50,
    onEvent: (e) => watcherEvents.push(e),
    onForcedChain: async (chain) => {
      await party.adoptForcedChain(chain)
    },
  })
  watcher.watch(opts.params)
  watcher.start()
  let stopped = false
  return {
    who,
    party,
    watcher,
    store,
    partyEvents,
    watcherEvents,
    async stop() {
      if (stopped) return
      stopped = true
      await watcher.stop()
      await party.close()
      await store.close()
    },
  }
}

/** Reads the deposits on chain and tells every participant's party (the funding phase). */
export async function confirmFunding(params: ChannelParams, channelId: Hex, ps: readonly Participant[]) {
  const first = ps[0]
  assert(first)
  const deposited = await getDeposits(first.who.client, channelId, params.participants)
  return Promise.all(ps.map((p) => p.party.confirmFunding(channelId, deposited)))
}

/**
 * The steps a cheater forces on top of `base` (co-signed; registered in the first call), computed
 * in the sandbox: each action by `mover`, each base signed as a Move by the mover's key.
 */
export async function forcedChainSteps(
  f: ChainFixture,
  params: ChannelParams,
  base: SignedState,
  moves: readonly { mover: bigint; action: Hex; key: Hex }[],
  env: Env,
): Promise<{ steps: ForcedStep[]; states: State[] }> {
  const steps: ForcedStep[] = []
  const states: State[] = []
  let from = base.state
  for (const [i, m] of moves.entries()) {
    steps.push({
      from,
      ...(i === 0 ? { fromSignatures: base.signatures } : {}),
      mover: m.mover,
      action: m.action,
      moverSignature: signMove(params, from, m.mover, m.action, m.key),
    })
    const r = await runTransition(f.sandbox, {
      params,
      from,
      mover: m.mover,
      action: m.action,
      env,
      appCode: escrowApp.code,
    })
    assert(r.ok, r.ok ? '' : r.message)
    states.push(r.state)
    from = r.state
  }
  return { steps, states }
}

/**
 * Polls `check` every 50 ms until it holds or `ms` pass (default 60 s: on a loaded machine work that
 * takes a second may take many); fails with `what`.
 */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 60_000) {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * anvil's snapshot and revert, for a reorganisation the watcher must notice. In a real
 * reorganisation a dropped transaction goes back to the mempool and keeps its nonce; anvil forgets
 * it, so `revert` sets the nonces the parties' clients already used back as taken.
 */
export function chainControl(f: ChainFixture) {
  const test = createTestClient({ mode: 'anvil', transport: http(f.anvil.rpcUrl) })
  const parties = [f.alice, f.bob]
  return {
    snapshot: () => test.snapshot(),
    async revert(id: Hex) {
      const nonces = await Promise.all(
        parties.map((p) => p.client.publicClient.getTransactionCount({ address: p.address })),
      )
      await test.revert({ id })
      for (const [i, p] of parties.entries())
        await test.setNonce({ address: p.address, nonce: nonces[i] ?? 0 })
    },
    mine: (blocks = 1) => test.mine({ blocks }),
  }
}
