// A party in its own process whose peer messages go through an MQTT broker (createMqttTransport),
// with a SQLite store. The parent only starts it, tells it to open a channel, and reads its events
// over IPC: `{ ready }`, `{ event }`. Env: CHANVM_BROKER_URL, CHANVM_DB, CHANVM_PARTY_INDEX.
import type { Hex } from 'viem'
import { escrowApp } from '../../../apps/escrow/escrowClient.ts'
import { wireToParams, wireToState } from '../../../engine/channel/wire.ts'
import { createKeySigner } from '../../../engine/crypto/createKeySigner.ts'
import { createParty } from '../../../engine/protocol/createParty.ts'
import { createSandbox } from '../../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../../engine/store/createSqliteStore.ts'
import type { WireParams, WireState } from '../../../engine/transport/types.ts'
import { createMqttTransport } from '../../../oracles/mqtt/createMqttTransport.ts'
import { fixedEnv, testAddresses, testKeys } from '../../support/channel.ts'

const index = Number(process.env.CHANVM_PARTY_INDEX ?? '1')
const send = (m: unknown) => {
  if (process.connected) process.send?.(m, undefined, {}, () => undefined)
}
process.on('error', () => undefined)

const transport = await createMqttTransport({
  url: process.env.CHANVM_BROKER_URL as string,
  self: testAddresses[index] as Hex,
  minBackoffMs: 50,
  maxBackoffMs: 500,
})
const store = createSqliteStore({ path: process.env.CHANVM_DB as string })
const party = await createParty({
  signer: createKeySigner(testKeys[index] as Hex),
  requireFunding: false,
  transport,
  store,
  sandbox: await createSandbox(),
  apps: [escrowApp],
  clock: () => fixedEnv,
  responseTimeoutMs: 30_000,
  onEvent: (e) =>
    send({ event: JSON.parse(JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? v.toString() : v))) }),
})
process.on('message', (m: { open?: { params: WireParams; state: WireState } }) => {
  if (m.open !== undefined) void party.open(wireToParams(m.open.params), wireToState(m.open.state))
})
process.on('disconnect', () => {
  void (async () => {
    await party.close()
    await transport.close()
    await store.close()
    process.exit(0)
  })()
})
send({ ready: true })
