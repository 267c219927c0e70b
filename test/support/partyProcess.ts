// A party in its own process, for the crash test. It talks to the parent over the IPC channel:
// peer messages go both ways as `{ peer: PeerMessage }`; the parent sends `{ open: {params, state} }`.
// With CHANVM_CRASH_AT=<version>, it kills itself with SIGKILL right after it durably records its
// signature for that version, before the signature is sent.
import type { Hex } from 'viem'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { wireToParams, wireToState } from '../../engine/channel/wire.ts'
import type { PeerMessage, PeerTransport, WireParams, WireState } from '../../engine/transport/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { fixedEnv, testAddresses, testKeys } from './channel.ts'

const index = Number(process.env.CHANVM_PARTY_INDEX ?? '1')
const crashAt = process.env.CHANVM_CRASH_AT === undefined ? undefined : BigInt(process.env.CHANVM_CRASH_AT)
const send = (m: unknown) => {
  if (process.connected) process.send?.(m, undefined, {}, () => undefined)
}
process.on('error', () => undefined) // the parent may go away mid-send

const handlers = new Set<(m: PeerMessage) => void>()
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
  privateKey: testKeys[index] as Hex,
  transport,
  store: createSqliteStore({ path: process.env.CHANVM_DB as string }),
  sandbox: await createSandbox(),
  apps: [escrowApp],
  clock: () => fixedEnv,
  onEvent: (e) => send({ event: JSON.parse(JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? v.toString() : v))) }),
  afterRecordSignature: (_channelId, version) => {
    if (crashAt !== undefined && version === crashAt) process.kill(process.pid, 'SIGKILL')
  },
})

process.on('message', (m: { peer?: PeerMessage; open?: { params: WireParams; state: WireState } }) => {
  if (m.peer !== undefined) for (const h of handlers) h(m.peer)
  if (m.open !== undefined) void party.open(wireToParams(m.open.params), wireToState(m.open.state))
})
process.on('disconnect', () => process.exit(0))
send({ ready: true })
