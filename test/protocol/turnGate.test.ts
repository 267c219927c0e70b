import assert from 'node:assert/strict'
import fc from 'fast-check'
import { escrowActions } from '../../apps/escrow/escrowClient.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createTurnGate } from '../../engine/protocol/createTurnGate.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { escrowChannel } from '../support/channel.ts'
import { escrowParty } from '../support/parties.ts'

/**
 * A gate whose windows end when the test says (`end()`), and a log of the window each message
 * started in. `arrive(n)` calls the gate for `n` messages at once.
 */
function steppedGate(perTurn: number) {
  let pending: (() => void) | undefined
  const gate = createTurnGate(perTurn, (f) => {
    assert.equal(pending, undefined, 'one window at a time')
    pending = f
  })
  let window = 0
  let arrived = 0
  const started: { msg: number; window: number }[] = []
  const settle = () => new Promise<void>((r) => setImmediate(r))
  return {
    started,
    arrive(n: number) {
      for (let i = 0; i < n; i++) {
        const msg = arrived++
        const wait = gate()
        if (wait === undefined) started.push({ msg, window })
        else void wait.then(() => started.push({ msg, window }))
      }
    },
    /** Ends the open window (if one is open); resolves once its held messages have started. */
    async end() {
      const f = pending
      pending = undefined
      window++
      f?.()
      await settle()
    },
    get open() {
      return pending !== undefined
    },
  }
}

describe('turn gate: at most N messages start in a window, in order', () => {
  it('a burst of 10 with 3 a window starts 3, then 3 at a time, in order', async () => {
    const g = steppedGate(3)
    g.arrive(10)
    assert.deepEqual(
      g.started,
      [0, 1, 2].map((msg) => ({ msg, window: 0 })),
    )
    while (g.open) await g.end()
    assert.deepEqual(
      g.started.map((s) => s.window),
      [0, 0, 0, 1, 1, 1, 2, 2, 2, 3],
    )
    assert.deepEqual(
      g.started.map((s) => s.msg),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    )
  })

  it('a message that comes while others wait goes behind them, even in a fresh window', async () => {
    const g = steppedGate(2)
    g.arrive(4) // 0 and 1 start, 2 and 3 wait
    await g.end() // 2 and 3 start in window 1, which is full
    g.arrive(1) // waits for window 2
    assert.deepEqual(
      g.started.map((s) => s.msg),
      [0, 1, 2, 3],
    )
    await g.end()
    assert.deepEqual(g.started.at(-1), { msg: 4, window: 2 })
  })

  it('holds for any arrivals and any limit (fast-check): order kept, at most the limit a window, none left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
        async (perTurn, arrivals) => {
          const g = steppedGate(perTurn)
          for (const n of arrivals) {
            g.arrive(n)
            await g.end()
          }
          while (g.open) await g.end()
          const total = arrivals.reduce((a, b) => a + b, 0)
          assert.deepEqual(
            g.started.map((s) => s.msg),
            Array.from({ length: total }, (_, i) => i),
          )
          const perWindow = new Map<number, number>()
          for (const s of g.started) perWindow.set(s.window, (perWindow.get(s.window) ?? 0) + 1)
          for (const n of perWindow.values()) assert.ok(n <= perTurn, `${n} started in one window`)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('by default a held message starts after the setImmediate work its window queued (the group commit)', async () => {
    // The store's group commit flushes in a setImmediate that the first messages' writes queue.
    const gate = createTurnGate(1)
    const events: string[] = []
    assert.equal(gate(), undefined)
    setImmediate(() => events.push('flush'))
    const held = gate()
    assert.ok(held !== undefined)
    await held.then(() => events.push('second starts'))
    assert.deepEqual(events, ['flush', 'second starts'])
  })

  it('Infinity lets everything through at once; 0, -1, 1.5 and NaN are CONFIG errors', () => {
    const open = createTurnGate(Infinity)
    for (let i = 0; i < 1_000; i++) assert.equal(open(), undefined)
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => createTurnGate(bad),
        (e: unknown) => e instanceof ChanvmError && e.code === 'CONFIG' && /messagesPerTurn/.test(e.message),
      )
    }
  })

  it('two parties with one message a turn co-sign steps on 6 channels at once, all alike', async () => {
    const hub = createMemoryHub()
    const partyOptions = { messagesPerTurn: 1, requireFunding: false }
    const payer = await escrowParty(0, hub, { partyOptions })
    const payee = await escrowParty(1, hub, { partyOptions })
    const chs = Array.from({ length: 6 }, (_, i) => escrowChannel({ nonce: 500n + BigInt(i) }))
    await Promise.all(chs.flatMap((c) => [payer.open(c.params, c.initial), payee.open(c.params, c.initial)]))
    const fund = escrowActions.fund(1n, 10n ** 12n)
    const results = await Promise.all(
      chs.map(async (c) => [
        await payer.update(c.channelId, fund),
        await payer.update(c.channelId, escrowActions.release()),
      ]),
    )
    for (const r of results.flat()) assert.ok(r.ok, r.ok ? '' : r.reason)
    for (const c of chs) {
      const a = await payer.latest(c.channelId)
      const b = await payee.waitForVersion(c.channelId, c.initial.version + 2n, 5_000)
      assert.equal(a?.state.version, c.initial.version + 2n)
      assert.deepEqual(b, a)
    }
    await payer.close()
    await payee.close()
  })
  /**
   * Ten channels step at once; the payer's ten proposals reach the payee in one burst. Returns, per
   * event-loop turn that sent any, how many of the payee's accepts left in it.
   */
  async function acceptsPerTurn(messagesPerTurn: number): Promise<number[]> {
    const hub = createMemoryHub()
    const connect = hub.connect.bind(hub)
    let turn = 0
    let ticking = true
    const tick = () => {
      turn++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const sentIn = new Map<number, number>()
    hub.connect = (self) => {
      const t = connect(self)
      const send = t.send.bind(t)
      t.send = (to, m) => {
        if (m.type === 'accept') sentIn.set(turn, (sentIn.get(turn) ?? 0) + 1)
        return send(to, m)
      }
      return t
    }
    const partyOptions = { messagesPerTurn, requireFunding: false }
    const payer = await escrowParty(0, hub, { partyOptions })
    const payee = await escrowParty(1, hub, { partyOptions })
    try {
      const chs = Array.from({ length: 10 }, (_, i) => escrowChannel({ nonce: 600n + BigInt(i) }))
      await Promise.all(
        chs.flatMap((c) => [payer.open(c.params, c.initial), payee.open(c.params, c.initial)]),
      )
      sentIn.clear()
      const fund = escrowActions.fund(1n, 10n ** 12n)
      const results = await Promise.all(chs.map((c) => payer.update(c.channelId, fund)))
      for (const r of results) assert.ok(r.ok, r.ok ? '' : r.reason)
      return [...sentIn.values()]
    } finally {
      ticking = false
      await payer.close()
      await payee.close()
    }
  }

  it('a burst of ten proposals is answered in one turn without a limit, and in turns of at most N with one', async () => {
    assert.deepEqual(await acceptsPerTurn(Infinity), [10])
    assert.deepEqual(await acceptsPerTurn(1), Array(10).fill(1))
    for (const limit of [2, 8]) {
      const perTurn = await acceptsPerTurn(limit)
      assert.equal(
        perTurn.reduce((a, b) => a + b, 0),
        10,
      )
      assert.ok(
        perTurn.every((n) => n <= limit) && perTurn.length >= Math.ceil(10 / limit),
        `limit ${limit}, accepts per turn: ${perTurn.join(', ')}`,
      )
    }
  })
})
