import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex } from 'viem'
import { escrowActions, signRuling } from '../../apps/escrow/escrowClient.ts'
import { paramsToWire, stateToWire } from '../../engine/channel/wire.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createParty, type Party } from '../../engine/protocol/createParty.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

const script = fileURLToPath(new URL('../support/partyProcess.ts', import.meta.url))
const deadline = fixedEnv.timestamp + 3_600n

type Child = { proc: ChildProcess; events: { type: string; reason?: string; version?: string }[]; exited: Promise<NodeJS.Signals | number | null> }

function startChild(db: string, crashAt: bigint | undefined, deliver: (m: PeerMessage) => void): Promise<Child> {
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, CHANVM_DB: db, CHANVM_PARTY_INDEX: '1', ...(crashAt === undefined ? {} : { CHANVM_CRASH_AT: String(crashAt) }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const events: Child['events'] = []
  const exited = new Promise<NodeJS.Signals | number | null>((res) => proc.on('exit', (code, signal) => res(signal ?? code)))
  return new Promise((resolve, reject) => {
    proc.on('error', reject)
    proc.on('message', (m: { ready?: boolean; peer?: PeerMessage; event?: Child['events'][number] }) => {
      if (m.ready === true) resolve({ proc, events, exited })
      if (m.peer !== undefined) deliver(m.peer)
      if (m.event !== undefined) events.push(m.event)
    })
  })
}

describe('protocol: crash safety (a party killed with SIGKILL)', function () {
  this.timeout(60_000)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-crash-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('after a restart from its database the party refuses a conflicting state at the version it signed, then continues', async () => {
    const { params, channelId, initial } = escrowChannel()
    const db = join(dir, 'payee.db')
    let child: Child | undefined
    const inbox = new Set<(m: PeerMessage) => void>()
    const transport: PeerTransport = {
      self: testAddresses[0]!,
      async send(_to, message) {
        if (child?.proc.connected === true) child.proc.send({ peer: message })
      },
      onMessage(h) {
        inbox.add(h)
        return () => inbox.delete(h)
      },
      async close() {},
    }
    const deliver = (m: PeerMessage) => setImmediate(() => inbox.forEach((h) => h(m)))
    const payer: Party = await createParty({
      privateKey: testKeys[0] as Hex, transport, store: createMemoryStore(), sandbox: await createSandbox(), apps: [escrowApp],
      clock: () => fixedEnv, responseTimeoutMs: 3_000,
    })

    // 1. The payee runs in a child process that will die right after recording its signature on version 2.
    child = await startChild(db, 2n, deliver)
    child.proc.send({ open: { params: paramsToWire(params), state: stateToWire(initial) } })
    await payer.open(params, initial)
    assert.ok((await payer.update(channelId, escrowActions.fund(250n, deadline))).ok, 'version 1 co-signed across processes')

    const released = await payer.update(channelId, escrowActions.release())
    assert.equal(released.ok, false)
    assert.equal(!released.ok ? released.reason : undefined, 'peer-timeout', 'the signature never left the killed process')
    assert.equal(await child.exited, 'SIGKILL')

    // What the payee's database says, read by a third party: it signed version 2 (the release).
    const peek = createSqliteStore({ path: db })
    const rec = await peek.getSignatureRecord(channelId, 2n)
    assert.deepEqual(rec?.state.balances, [750n, 250n])
    await peek.close()

    // 2. Restarted from the same file, it refuses a different state at version 2 ...
    child = await startChild(db, undefined, deliver)
    const ruling = escrowActions.ruling(false, signRuling(params, channelId, 0n, false, testKeys[2]!))
    const conflicting = await payer.update(channelId, ruling)
    assert.equal(conflicting.ok, false)
    assert.equal(!conflicting.ok && conflicting.reason === 'peer-rejected' ? conflicting.peerReason : undefined, 'conflicting-signature')

    // ... signs the very state it signed before ...
    const again = await payer.update(channelId, escrowActions.release())
    assert.ok(again.ok, 'the state it had signed is co-signed now')
    // ... and the channel goes on to the next version.
    const next = await payer.update(channelId, escrowActions.fund(100n, deadline))
    assert.ok(next.ok)
    if (next.ok) assert.equal(next.signed.state.version, 3n)
    assert.ok(child.events.some((e) => e.type === 'refused' && e.reason === 'conflicting-signature'))
    child.proc.disconnect()
    await child.exited
  })
})
