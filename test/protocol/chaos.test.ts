import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { decodeEscrowData, escrowActions, escrowApp, signRuling } from '../../apps/escrow/escrowClient.ts'
import { hashState } from '../../engine/channel/hashState.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty, type Party } from '../../engine/protocol/createParty.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import type { PeerTransport } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'
import { seeded } from '../support/childScripts.ts'

const STEPS = Number(process.env.CHANVM_CHAOS_STEPS ?? '60')
const SEED = Number(process.env.CHANVM_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))

/**
 * Two parties on SQLite files over a hub that loses, duplicates and reorders messages at random,
 * each restarted from its file now and then, both moving whenever it is their turn. Once the losses stop, re-sync must
 * bring both to the same latest co-signed state, and no party may hold two digests for a version.
 */
describe('protocol: lost messages and restarts at random (seeded)', function () {
  this.timeout(120_000)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-chaos-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it(`${STEPS} turns, 25% of messages lost, 10% replayed late, restarts; then both hold the same co-signed state (seed ${SEED})`, async () => {
    const rnd = seeded(SEED)
    const { params, channelId, initial } = escrowChannel({ nonce: BigInt(SEED) })
    const hub = createMemoryHub()
    let lossy = true
    // Raw connections replay messages: 10% arrive a second time, up to 100 ms later (duplicated and reordered).
    const replay = [hub.connect(testAddresses[0]!), hub.connect(testAddresses[1]!)] as const
    hub.setFilter((to, m) => {
      if (!lossy) return false
      if (rnd() < 0.1) {
        const from = m.from.toLowerCase() === testAddresses[0]!.toLowerCase() ? 0 : 1
        setTimeout(() => void replay[from].send(to, m).catch(() => undefined), rnd() * 100)
      }
      return rnd() < 0.25
    })
    const paths = [join(dir, 'payer.db'), join(dir, 'payee.db')] as const
    type Live = { party: Party; transport: PeerTransport; store: ChannelStore }
    const start = async (i: 0 | 1): Promise<Live> => {
      const transport = hub.connect(testAddresses[i]!)
      const store = createSqliteStore({ path: paths[i] })
      const party = await createParty({
        signer: createKeySigner(testKeys[i]!),
        transport,
        store,
        sandbox: await createSandbox(),
        apps: [escrowApp],
        clock: () => fixedEnv,
        responseTimeoutMs: 60,
      })
      return { party, transport, store }
    }
    const stop = async (l: Live) => {
      await l.party.close()
      await l.transport.close()
      await l.store.close()
    }
    const live: [Live, Live] = [await start(0), await start(1)]
    lossy = false
    await Promise.all(live.map((l) => l.party.open(params, initial)))
    for (const l of live) assert.ok((await l.party.confirmFunding(channelId, initial.balances)).ok)
    lossy = true

    let restarts = 0
    for (let turn = 0; turn < STEPS; turn++) {
      await new Promise((r) => setTimeout(r, 20)) // time for re-sync timers and deliveries
      if (rnd() < 0.1) {
        const i = rnd() < 0.5 ? 0 : 1
        await stop(live[i])
        live[i] = await start(i)
        restarts++
      }
      const i = rnd() < 0.5 ? 0 : 1
      const latest = await live[i].party.latest(channelId)
      if (latest === undefined) continue
      const d = decodeEscrowData(latest.state.appData as Hex)
      const action =
        !d.funded && i === 0
          ? escrowActions.fund(1n, fixedEnv.timestamp + 3_600n)
          : d.funded && i === 1
            ? escrowActions.ruling(false, signRuling(params, channelId, d.escrowId, false, testKeys[2]!))
            : undefined
      if (action !== undefined) {
        const r = await live[i].party.update(channelId, action)
        if (process.env.CHANVM_CHAOS_DEBUG)
          console.log(
            turn,
            i,
            r.ok
              ? `ok ${r.signed.state.version}`
              : `${r.reason} ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 200)}`,
          )
      }
    }

    // The losses stop and nobody moves: re-sync alone (sync requests with their back-off, the
    // signatures they show) must bring both to the same latest co-signed state.
    lossy = false
    const version = async (i: 0 | 1) => (await live[i].party.latest(channelId))?.state.version ?? -1n
    for (const end = Date.now() + 30_000; (await version(0)) !== (await version(1)) && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 25))
    const [a, b] = [await live[0].party.latest(channelId), await live[1].party.latest(channelId)]
    assert.deepEqual(
      a,
      b,
      `both parties hold the same latest co-signed state (seed ${SEED}, ${restarts} restarts)`,
    )
    assert.ok(
      (a?.state.version ?? 0n) >= BigInt(Math.floor(STEPS / 10)),
      `the channel made progress: version ${a?.state.version}`,
    )

    // No version was signed with two digests, and what is co-signed is what each party signed.
    for (let v = 0n; v <= (a?.state.version ?? -1n); v++) {
      const co = await live[0].store.getSignedState(channelId, v)
      const co1 = await live[1].store.getSignedState(channelId, v)
      if (co !== undefined && co1 !== undefined)
        assert.deepEqual(co, co1, `version ${v} is the same state for both`)
      const cosigned = co ?? co1
      for (const l of live) {
        const rec = await l.store.getSignatureRecord(channelId, v)
        if (rec !== undefined && cosigned !== undefined) {
          assert.equal(
            rec.digest,
            hashState(params.chainId, params.adjudicator, cosigned.state).toLowerCase(),
            `version ${v}: one digest`,
          )
        }
      }
    }
    for (const l of live) await stop(l)
  })
})
