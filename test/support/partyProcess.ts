// A party in its own process, for the crash test. It talks to the parent over the IPC channel:
// peer messages go both ways as `{ peer: PeerMessage }`; the parent sends `{ open: {params, state} }`
// (the child opens the channel and confirms it funded with the initial balances). With
// CHANVM_CRASH_AT=<version>, its store kills the process with SIGKILL right after it durably
// records its signature for that version, before the signature is sent. The parent is told
// `{ handled: n }` after each peer message's handler resolved (what a transport would acknowledge).
// `{ update: { channelId, action } }` runs an update and answers `{ updated: result }`.
// `{ fail: true | false }` makes every write of its store fail with SQLITE_FULL (a full disk) or
// work again; it answers `{ failing: boolean }`.
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { Hex } from 'viem'
import { wireToParams, wireToState } from '../../engine/channel/wire.ts'
import type { PeerMessage, PeerTransport, WireParams, WireState } from '../../engine/transport/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { crashingStore } from './crashingStore.ts'
import { faultyStore, sqliteError } from './faultyStore.ts'
import { fixedEnv, testAddresses, testKeys } from './channel.ts'

const index = Number(process.env.CHANVM_PARTY_INDEX ?? '1')
const crashAt = process.env.CHANVM_CRASH_AT === undefined ? [] : [BigInt(process.env.CHANVM_CRASH_AT)]
const send = (m: unknown) => {
  if (process.connected) process.send?.(m, undefined, {}, () => undefined)
}
process.on('error', () => undefined) // the parent may go away mid-send
const json = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)))

let diskFull = false
const handlers = new Set<(m: PeerMessage) => void | Promise<void>>()
const transport: PeerTransport = {
  self: testAddresses[index]!,
  async send(_to, message) {
    send({ peer: message })
  },
  onMessage(h) {
    handlers.add(h)
    return () => handlers.delete(h)
  },
  async close() {},
}

const party = await createParty({
  signer: createKeySigner(testKeys[index]!),
  transport,
  store: faultyStore(
    crashingStore(createSqliteStore({ path: process.env.CHANVM_DB as string, exclusive: true }), {
      versions: crashAt,
      crash: () => process.kill(process.pid, 'SIGKILL'),
    }),
    { failing: () => diskFull, error: () => sqliteError('SQLITE_FULL') },
  ),
  sandbox: await createSandbox(),
  apps: [escrowApp],
  clock: () => fixedEnv,
  responseTimeoutMs: Number(process.env.CHANVM_TIMEOUT_MS ?? '10000'),
  onEvent: (e) => send({ event: json(e) }),
})

let handled = 0
process.on(
  'message',
  (m: {
    peer?: PeerMessage
    open?: { params: WireParams; state: WireState }
    update?: { channelId: Hex; action: Hex }
    fail?: boolean
  }) => {
    if (m.fail !== undefined) {
      diskFull = m.fail
      send({ failing: diskFull })
    }
    if (m.update !== undefined) {
      void party.update(m.update.channelId, m.update.action).then(
        (r) => send({ updated: json(r) }),
        (e: unknown) => send({ updated: { ok: false, reason: 'error', message: (e as Error).message } }),
      )
    }
    if (m.peer !== undefined) {
      const peer = m.peer
      void Promise.allSettled([...handlers].map(async (h) => h(peer))).then(() =>
        send({ handled: ++handled }),
      )
    }
    if (m.open !== undefined) {
      const params = wireToParams(m.open.params)
      const state = wireToState(m.open.state)
      void party
        .open(params, state)
        .then((s) => party.confirmFunding(s.state.channelId, state.balances))
        .then(() => send({ opened: true }))
    }
  },
)
process.on('disconnect', () => process.exit(0))
send({ ready: true })
