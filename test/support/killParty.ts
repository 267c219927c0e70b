// One party of the kill test (test/protocol/kill.test.ts) in its own process: a SQLite file store,
// the MQTT peer transport with a persistent session, the sandbox and the Escrow app.
//
// It starts as a warm standby (modules loaded, sandbox built) and tells the parent `{ standby }`;
// `{ start }` makes it open its store and connect, then it answers `{ ready }`. The parent drives it
// over IPC:
//   `{ open: { params, state } }`  co-signs the initial state;
//   `{ step: id }`                 makes this party's next Escrow move if it is its turn on its latest
//                                  state (the payer funds 1, the payee settles with the arbiter's
//                                  refund ruling), answered with `{ stepped: { id, ok, ... } }`;
//   `{ arm: CrashPoint }`          arms the crash-injecting store: SIGKILL before or after the n-th
//                                  call of a store write from now on.
// It reports every party event as `{ event }`: `committed` means stored (the parent treats it as
// acknowledged). CHANVM_CRASH_POINT=<method>:<before|after>:<n> arms the store at start-up.
import type { Address, Hex } from 'viem'
import { decodeEscrowData, escrowActions, escrowApp, signRuling } from '../../apps/escrow/escrowClient.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { ChannelParams } from '../../engine/channel/types.ts'
import { wireToParams, wireToState } from '../../engine/channel/wire.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createParty } from '../../engine/protocol/createParty.ts'
import type { Party } from '../../engine/protocol/types.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { WireParams, WireState } from '../../engine/transport/types.ts'
import { createMqttTransport } from '../../oracles/mqtt/createMqttTransport.ts'
import { fixedEnv, testAddresses, testKeys } from './channel.ts'
import { crashPointStore, parseCrashPoint, type CrashPoint } from './killStore.ts'

type Start = {
  index: number
  db: string
  url: string
  clientId: string
  timeoutMs: number
  params: WireParams
}
type Command =
  | { start: Start }
  | { open: { params: WireParams; state: WireState } }
  | { step: number }
  | { arm: CrashPoint }

const send = (m: unknown) => {
  if (process.connected) process.send?.(m, undefined, {}, () => undefined)
}
process.on('error', () => undefined) // the parent may go away mid-send
const toJson = (v: unknown) =>
  JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)))
const kill = () => process.kill(process.pid, 'SIGKILL')

const sandbox = await createSandbox()
const envPoint = process.env.CHANVM_CRASH_POINT
const store = crashPointStore(
  envPoint === undefined || envPoint === '' ? undefined : parseCrashPoint(envPoint),
  kill,
)

let party: Party | undefined
let index = 0
let params: ChannelParams | undefined
const deadline = fixedEnv.timestamp + 3_600n

async function start(s: Start): Promise<void> {
  index = s.index
  params = wireToParams(s.params)
  // As a node opens its store: the file held alone (the kill tests read it only while this is dead).
  store.setInner(createSqliteStore({ path: s.db, exclusive: true }))
  const transport = await createMqttTransport({
    url: s.url,
    self: testAddresses[index] as Address,
    clientId: s.clientId,
    clean: false,
    minBackoffMs: 50,
    maxBackoffMs: 500,
  })
  party = await createParty({
    signer: createKeySigner(testKeys[index] as Hex),
    transport,
    store: store.store,
    sandbox,
    apps: [escrowApp],
    clock: () => fixedEnv,
    responseTimeoutMs: s.timeoutMs,
    requireFunding: false,
    onEvent: (e) => send({ event: toJson(e) }),
  })
  send({ ready: true })
}

async function step(id: number): Promise<void> {
  if (party === undefined || params === undefined)
    return send({ stepped: { id, ok: false, reason: 'not-started' } })
  const channelId = getChannelId(params)
  const latest = await party.latest(channelId)
  if (latest === undefined) return send({ stepped: { id, ok: false, reason: 'no-channel' } })
  const d = decodeEscrowData(latest.state.appData)
  let action: Hex | undefined
  if (!d.funded && Number(d.payer) === index) action = escrowActions.fund(1n, deadline)
  else if (d.funded && Number(d.payee) === index) {
    action = escrowActions.ruling(false, signRuling(params, channelId, d.escrowId, false, testKeys[2] as Hex))
  }
  if (action === undefined)
    return send({
      stepped: { id, ok: false, reason: 'not-my-turn', version: latest.state.version.toString() },
    })
  const r = await party.update(channelId, action, { env: fixedEnv })
  send({ stepped: toJson(r.ok ? { id, ok: true, version: r.signed.state.version } : { id, ...r }) })
}

process.on('message', (m: Command) => {
  if ('start' in m) {
    start(m.start).catch((e: unknown) => {
      process.stderr.write(`kill party ${index}: start failed: ${(e as Error).stack}\n`)
      process.exit(3)
    })
  } else if ('open' in m) {
    void party
      ?.open(wireToParams(m.open.params), wireToState(m.open.state))
      .then(() => send({ opened: true }))
  } else if ('step' in m) {
    step(m.step).catch((e: unknown) =>
      send({ stepped: { id: m.step, ok: false, reason: 'threw', message: (e as Error).message } }),
    )
  } else if ('arm' in m) {
    store.arm(m.arm)
  }
})
process.on('disconnect', () => process.exit(0))
send({ standby: true })
