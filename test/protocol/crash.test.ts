import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex } from 'viem'
import { decodeEscrowData, escrowActions } from '../../apps/escrow/escrowClient.ts'
import { paramsToWire, stateToWire } from '../../engine/channel/wire.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createParty, type Party, type PartyEvent } from '../../engine/protocol/createParty.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

const script = fileURLToPath(new URL('../support/partyProcess.ts', import.meta.url))
const deadline = fixedEnv.timestamp + 3_600n

type ChildEvent = {
  type: string
  reason?: string
  version?: string
  state?: { version: string; isFinal: boolean }
}
type Child = {
  proc: ChildProcess
  events: ChildEvent[]
  exited: Promise<NodeJS.Signals | number | null>
  opened: Promise<void>
  update(
    channelId: Hex,
    action: Hex,
  ): Promise<{ ok: boolean; reason?: string; signed?: { state: { version: string } } }>
}

/** Starts the party of `index` in a child process on `db`; it dies right after recording its signature at `crashAt`. */
function startChild(
  index: 0 | 1,
  db: string,
  crashAt: bigint | undefined,
  deliver: (m: PeerMessage) => void,
): Promise<Child> {
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      CHANVM_DB: db,
      CHANVM_PARTY_INDEX: String(index),
      CHANVM_TIMEOUT_MS: '1500',
      ...(crashAt === undefined ? {} : { CHANVM_CRASH_AT: String(crashAt) }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const events: ChildEvent[] = []
  const exited = new Promise<NodeJS.Signals | number | null>((res) =>
    proc.on('exit', (code, signal) => res(signal ?? code)),
  )
  let opened!: () => void
  const openedP = new Promise<void>((res) => (opened = res))
  const updates: ((r: never) => void)[] = []
  return new Promise((resolve, reject) => {
    proc.on('error', reject)
    proc.on(
      'message',
      (m: { ready?: boolean; opened?: boolean; peer?: PeerMessage; event?: ChildEvent; updated?: never }) => {
        if (m.ready === true) {
          resolve({
            proc,
            events,
            exited,
            opened: openedP,
            update: (channelId, action) =>
              new Promise((res) => {
                updates.push(res)
                proc.send({ update: { channelId, action } })
              }),
          })
        }
        if (m.opened === true) opened()
        if (m.peer !== undefined) deliver(m.peer)
        if (m.event !== undefined) events.push(m.event)
        if (m.updated !== undefined) updates.shift()?.(m.updated)
      },
    )
  })
}

/** The in-process party of `index`, talking to whichever child is current. */
async function localParty(index: 0 | 1, current: () => Child | undefined, events: PartyEvent[] = []) {
  const inbox = new Set<(m: PeerMessage) => void | Promise<void>>()
  const transport: PeerTransport = {
    self: testAddresses[index]!,
    async send(_to, message) {
      const child = current()
      if (child?.proc.connected === true) child.proc.send({ peer: message })
    },
    onMessage(h) {
      inbox.add(h)
      return () => inbox.delete(h)
    },
    async close() {},
  }
  const deliver = (m: PeerMessage) =>
    setImmediate(() => inbox.forEach((h) => void Promise.resolve(h(m)).catch(() => undefined)))
  const party: Party = await createParty({
    signer: createKeySigner(testKeys[index]!),
    transport,
    store: createMemoryStore(),
    sandbox: await createSandbox(),
    apps: [escrowApp],
    clock: () => fixedEnv,
    responseTimeoutMs: 1_500,
    onEvent: (e) => events.push(e),
  })
  return { party, deliver }
}

describe('protocol: crash safety (a party killed with SIGKILL)', function () {
  this.timeout(240_000) // a bound for a hang, not a speed check (processes on a shared machine)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-crash-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('a peer killed after recording its signature: restarted, it shows the mover what it signed and the mover finishes that state', async () => {
    const { params, channelId, initial } = escrowChannel()
    const db = join(dir, 'payee.db')
    let child: Child | undefined
    const { party: payer, deliver } = await localParty(0, () => child)

    // 1. The payee runs in a child process that dies right after recording its signature on version 2.
    child = await startChild(1, db, 2n, deliver)
    child.proc.send({ open: { params: paramsToWire(params), state: stateToWire(initial) } })
    await payer.open(params, initial)
    assert.ok((await payer.confirmFunding(channelId, initial.balances)).ok)
    await child.opened
    assert.ok(
      (await payer.update(channelId, escrowActions.fund(250n, deadline))).ok,
      'version 1 co-signed across processes',
    )

    const released = await payer.update(channelId, escrowActions.release())
    assert.equal(
      released.ok ? 'ok' : released.reason,
      'peer-timeout',
      'the signature never left the killed process',
    )
    assert.equal(await child.exited, 'SIGKILL')

    // What the payee's database says, read by a third party: it signed version 2 (the release),
    // together with the payer's proposal.
    const peek = createSqliteStore({ path: db })
    const rec = await peek.getSignatureRecord(channelId, 2n)
    assert.deepEqual(rec?.state.balances, [750n, 250n])
    assert.equal(rec?.proposal?.mover, 0)
    await peek.close()

    // 2. Restarted from the same file, it asks for the commit of version 2 and shows the release
    // it signed, with the payer's own proposal: the payer finishes the release (it signs last and
    // commits) although its update gave up.
    child = await startChild(1, db, undefined, deliver)
    const latest = await payer.waitForVersion(channelId, 2n, 10_000)
    assert.deepEqual(latest.state.balances, [750n, 250n])
    assert.equal(decodeEscrowData(latest.state.appData as Hex).funded, false)
    assert.ok(child.events.some((e) => e.type === 'sync' && e.version === '2'))

    // ... and the channel goes on to the next version.
    const next = await payer.update(channelId, escrowActions.fund(100n, deadline))
    assert.ok(next.ok)
    if (next.ok) assert.equal(next.signed.state.version, 3n)
    // The commit reaches the child over IPC and its disk: a deadline, not a count of polls.
    const until = Date.now() + 30_000
    while (
      Date.now() < until &&
      !child.events.some((e) => e.type === 'committed' && e.state?.version === '3')
    )
      await new Promise((res) => setTimeout(res, 20))
    assert.ok(
      child.events.some((e) => e.type === 'committed' && e.state?.version === '3'),
      'the restarted payee holds version 3',
    )
    child.proc.disconnect()
    await child.exited
  })

  it('a mover killed after recording a final state and before its commit re-sends the commit when it restarts', async () => {
    const { params, channelId, initial } = escrowChannel({ nonce: 2n })
    const db = join(dir, 'payer.db')
    let child: Child | undefined
    const events: PartyEvent[] = []
    const { party: payee, deliver } = await localParty(1, () => child, events)

    // The payer (the mover, in the child) dies right after it recorded its own signature and the
    // co-signed final version 1 in one write: the commit never left.
    child = await startChild(0, db, 1n, deliver)
    child.proc.send({ open: { params: paramsToWire(params), state: stateToWire(initial) } })
    await payee.open(params, initial)
    assert.ok((await payee.confirmFunding(channelId, initial.balances)).ok)
    await child.opened
    void child.update(channelId, escrowActions.close())
    assert.equal(await child.exited, 'SIGKILL')
    assert.equal(
      (await payee.latest(channelId))?.state.version,
      0n,
      'the payee signed version 1 but has no commit',
    )

    // Restarted, the payer re-sends its latest co-signed state: the payee stores the final state.
    child = await startChild(0, db, undefined, deliver)
    const final = await payee.waitForVersion(channelId, 1n, 10_000)
    assert.equal(final.state.isFinal, true)
    assert.ok(events.some((e) => e.type === 'committed' && e.state.version === 1n))
    child.proc.disconnect()
    await child.exited
  })
})
