import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { UpdateResult } from '../../engine/protocol/createParty.ts'
import { createTwoMachines } from './harness.ts'

const RUNS = Number(process.env.CHANVM_MODEL_RUNS ?? '25')
/** Short enough that updates time out within a run, long enough that most finish on a loaded machine. */
const TIMEOUT_MS = 200

type Op =
  | { t: 'move'; p: 0 | 1 }
  | { t: 'deliver' | 'drop' | 'duplicate'; k: number }
  | { t: 'refuse'; p: 0 | 1 }
  | { t: 'wait' }

const party = fc.constantFrom<0 | 1>(0, 1)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: party.map((p): Op => ({ t: 'move', p })) },
  { weight: 6, arbitrary: fc.nat(7).map((k): Op => ({ t: 'deliver', k })) },
  { weight: 1, arbitrary: fc.nat(7).map((k): Op => ({ t: 'drop', k })) },
  { weight: 1, arbitrary: fc.nat(7).map((k): Op => ({ t: 'duplicate', k })) },
  { weight: 1, arbitrary: party.map((p): Op => ({ t: 'refuse', p })) },
  { weight: 1, arbitrary: fc.constant<Op>({ t: 'wait' }) },
)

/**
 * The protocol as a model: two machines over an in-memory queue, driven by fast-check through
 * random interleavings of moves, deliveries, losses, duplicates, refusals and timeouts.
 * Safety after every run: never two different co-signed states of one version, never a state
 * signature sent before its record, balances conserved. Liveness: once the faults stop, both
 * parties reach the same latest co-signed state.
 */
describe('protocol model: random interleavings, faults and refusals (fast-check)', function () {
  this.timeout(300_000)

  it(`safety always, and both reach the same latest state once faults stop (${RUNS} runs)`, async () => {
    let nonce = 100n
    let stepsCoSigned = 0n
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60 }), async (ops) => {
        const m = await createTwoMachines({ responseTimeoutMs: TIMEOUT_MS, nonce: nonce++ })
        try {
          await m.open()
          const running: [Promise<UpdateResult> | undefined, Promise<UpdateResult> | undefined] = [
            undefined,
            undefined,
          ]
          for (const o of ops) {
            if (o.t === 'move') {
              if (running[o.p] !== undefined) continue
              const action = await m.nextAction(o.p)
              if (action === undefined) continue
              const p = m.update(o.p, action)
              running[o.p] = p
              void p.finally(() => (running[o.p] = undefined)).catch(() => undefined)
              await m.settle()
            } else if (o.t === 'refuse') m.refuseNext[o.p] = true
            else if (o.t === 'wait') await Promise.allSettled([...m.inFlight])
            else await m.deliver(o.k, o.t)
            assert.deepEqual(m.violations, [], 'safety holds at every step')
          }
          // The faults stop: every message is delivered, updates end, re-sync runs on its timers.
          m.refuseNext[0] = m.refuseNext[1] = false
          const same = async () => {
            const [a, b] = [await m.parties[0].latest(m.channelId), await m.parties[1].latest(m.channelId)]
            return a?.state.version === b?.state.version && m.queue.length === 0 && m.inFlight.size === 0
          }
          for (let round = 0; round < 400 && !(await same()); round++) {
            await m.drain()
            await Promise.allSettled([...m.inFlight])
            if (!(await same())) await new Promise((r) => setTimeout(r, TIMEOUT_MS))
          }
          const [a, b] = [await m.parties[0].latest(m.channelId), await m.parties[1].latest(m.channelId)]
          assert.deepEqual(a, b, 'both parties hold the same latest co-signed state')
          stepsCoSigned += a?.state.version ?? 0n
          assert.deepEqual(m.violations, [])
          // What each holds co-signed is what either took: one digest per version.
          for (const [v, digest] of m.coSigned) {
            for (const s of m.stores) {
              const rec = await s.getSignatureRecord(m.channelId, v)
              if (rec !== undefined)
                assert.equal(rec.digest.toLowerCase(), digest, `version ${v}: one digest`)
            }
          }
        } finally {
          await m.close()
        }
      }),
      { numRuns: RUNS },
    )
    assert.ok(stepsCoSigned > 0n, `the runs made progress: ${stepsCoSigned} steps co-signed in all`)
  })
})
