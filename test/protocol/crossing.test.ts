// Two proposals that cross at one version while one party's disk is full, with both parties in
// their own processes (test/support/partyProcess.ts) and the parent carrying every message, so the
// order of deliveries and faults is fixed.
import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex } from 'viem'
import { decodeEscrowData, escrowActions, signRuling } from '../../apps/escrow/escrowClient.ts'
import { hashState } from '../../engine/channel/hashState.ts'
import { paramsToWire, stateToWire, wireToState } from '../../engine/channel/wire.ts'
import type { PeerMessage } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testKeys } from '../support/channel.ts'

const script = fileURLToPath(new URL('../support/partyProcess.ts', import.meta.url))
const deadline = fixedEnv.timestamp + 3_600n

type ChildEvent = {
  type: string
  reason?: string
  version?: string
  digest?: string
  state?: { version: string; balances: string[]; appData: string }
}
type Updated = { ok: boolean; reason?: string; message?: string; signed?: { state: { version: string } } }
type Child = {
  proc: ChildProcess
  events: ChildEvent[]
  exited: Promise<unknown>
  opened: Promise<void>
  update(channelId: Hex, action: Hex): Promise<Updated>
  fail(on: boolean): Promise<void>
  deliver(m: PeerMessage): void
}

function startChild(index: 0 | 1, db: string, route: (m: PeerMessage) => void): Promise<Child> {
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, CHANVM_DB: db, CHANVM_PARTY_INDEX: String(index), CHANVM_TIMEOUT_MS: '1000' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const events: ChildEvent[] = []
  const exited = new Promise((res) => proc.on('exit', res))
  let opened!: () => void
  const openedP = new Promise<void>((res) => (opened = res))
  const updates: ((r: Updated) => void)[] = []
  const failing: (() => void)[] = []
  return new Promise((resolve, reject) => {
    proc.on('error', reject)
    proc.on(
      'message',
      (m: {
        ready?: boolean
        opened?: boolean
        peer?: PeerMessage
        event?: ChildEvent
        updated?: Updated
        failing?: boolean
      }) => {
        if (m.ready === true)
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
            fail: (on) =>
              new Promise((res) => {
                failing.push(res)
                proc.send({ fail: on })
              }),
            deliver: (peer) => {
              if (proc.connected) proc.send({ peer })
            },
          })
        if (m.opened === true) opened()
        if (m.peer !== undefined) route(m.peer)
        if (m.event !== undefined) events.push(m.event)
        if (m.updated !== undefined) updates.shift()?.(m.updated)
        if (m.failing !== undefined) failing.shift()?.()
      },
    )
  })
}

/** Waits until `check` holds, polling; false if it never did within `ms`. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 25))
  }
  return true
}

/** Every digest a party signed at `version`, from its `signed` events. */
const signedAt = (c: Child, version: string) =>
  new Set(c.events.filter((e) => e.type === 'signed' && e.version === version).map((e) => e.digest))
const committedAt = (c: Child, version: string) =>
  c.events.find((e) => e.type === 'committed' && e.state?.version === version)?.state

describe('protocol: proposals that cross at one version while a disk is full (two processes)', function () {
  this.timeout(240_000) // a bound for a hang, not a speed check (processes on a shared machine)
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-crossing-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('the payee’s A refused for the payer’s full disk, the payer’s B signed but not recorded, A delivered again once space is freed: B is co-signed, A never, and the channel goes on', async () => {
    const { params, channelId, initial } = escrowChannel()
    const children: { payer?: Child; payee?: Child } = {}
    // Everything the payee proposes, to deliver it again later (a broker redelivering it).
    const proposedByPayee: Extract<PeerMessage, { type: 'propose' }>[] = []
    const payer = await startChild(0, join(dir, 'payer.db'), (m) => children.payee?.deliver(m))
    const payee = await startChild(1, join(dir, 'payee.db'), (m) => {
      if (m.type === 'propose') proposedByPayee.push(m)
      children.payer?.deliver(m)
    })
    Object.assign(children, { payer, payee })
    try {
      for (const c of [payer, payee])
        c.proc.send({ open: { params: paramsToWire(params), state: stateToWire(initial) } })
      await Promise.all([payer.opened, payee.opened])
      assert.ok((await payer.update(channelId, escrowActions.fund(10n, deadline))).ok)
      assert.ok(await until(() => committedAt(payee, '1') !== undefined, 10_000), 'version 1 co-signed')
      const funded = wireToState(committedAt(payee, '1') as never)
      const escrowId = decodeEscrowData(funded.appData).escrowId

      // The payer's disk fills up. The payee proposes A (the arbiter's refund ruling) at version 2;
      // the payer cannot record its signature and refuses with store-error.
      await payer.fail(true)
      const refund = escrowActions.ruling(false, signRuling(params, channelId, escrowId, false, testKeys[2]!))
      const aUpdate = payee.update(channelId, refund)
      assert.ok(
        await until(
          () => payee.events.some((e) => e.type === 'peer-refused' && e.reason === 'store-error'),
          10_000,
        ),
        'the payer refused A for its store',
      )
      const a = proposedByPayee.at(-1)
      assert.ok(a !== undefined && a.state.version === '2')
      const digestA = hashState(params.chainId, params.adjudicator, wireToState(a.state)).toLowerCase()

      // The payer proposes B (release) at version 2; the payee signs it; the payer cannot record
      // its own last signature.
      const b = await payer.update(channelId, escrowActions.release())
      assert.equal(b.ok, false)
      assert.match(String(b.message), /SQLITE_FULL/)
      assert.equal(signedAt(payee, '2').size, 1, 'the payee signed B')
      const digestB = [...signedAt(payee, '2')][0]
      assert.notEqual(digestB, digestA)

      // Space is freed and the broker delivers A to the payer again.
      await payer.fail(false)
      payer.deliver(a)

      // Both end with the same co-signed version 2, and it is B.
      const settled = await until(
        () => committedAt(payer, '2') !== undefined && committedAt(payee, '2') !== undefined,
        15_000,
      )
      assert.deepEqual(
        { payer: [...signedAt(payer, '2')], payee: [...signedAt(payee, '2')] },
        { payer: settled ? [digestB] : ['(B)'], payee: [digestB] },
        'each party signed only B at version 2 (the payer never signed A)',
      )
      assert.ok(settled, 'both hold a co-signed version 2')
      assert.deepEqual(committedAt(payer, '2'), committedAt(payee, '2'))
      const v2 = wireToState(committedAt(payer, '2') as never)
      assert.equal(hashState(params.chainId, params.adjudicator, v2).toLowerCase(), digestB)
      assert.deepEqual(v2.balances, [initial.balances[0]! - 10n, initial.balances[1]! + 10n], 'released')

      // The payee's update of A ends (it lost the crossing, then the refund no longer applies on
      // top of the release), and the channel goes on to version 3.
      const aResult = await aUpdate
      assert.notEqual(aResult.ok, true)
      const next = await payer.update(channelId, escrowActions.fund(5n, deadline))
      assert.equal(next.ok ? next.signed?.state.version : next.reason, '3')
      assert.ok(await until(() => committedAt(payee, '3') !== undefined, 10_000), 'the payee holds version 3')
      for (const c of [payer, payee])
        for (const v of ['1', '2', '3'])
          assert.ok(signedAt(c, v).size <= 1, `one signature per version (${v})`)
    } finally {
      for (const c of [payer, payee]) c.proc.disconnect()
      await Promise.all([payer.exited, payee.exited])
    }
  })
})
