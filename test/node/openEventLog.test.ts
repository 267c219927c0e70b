// openEventLog on a real data folder: the block of ids is on disk before its ids are used, a node
// that stops without a word (no close) starts at the next block, and replay is exact while the
// events are held and a gap once they are not.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EVENT_IDS_FILE, openEventLog } from '../../node/openEventLog.ts'
import type { NodeEvent } from '../../node/types.ts'

const event = (message: string): NodeEvent => ({ source: 'node', message })

describe('openEventLog', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-event-log-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('reserves each block on disk before using it; a reopen after a crash starts past every id used', () => {
    const log = openEventLog({ dataDir: dir, blockSize: 3 })
    assert.equal(readFileSync(join(dir, EVENT_IDS_FILE), 'utf8'), '4\n')
    const ids = [1, 2, 3, 4].map((i) => log.append(event(`e${i}`)))
    assert.deepEqual(ids, [1, 2, 3, 4])
    assert.equal(readFileSync(join(dir, EVENT_IDS_FILE), 'utf8'), '7\n', 'the second block was reserved')
    assert.equal(log.reserved, 7)
    const reopened = openEventLog({ dataDir: dir, blockSize: 3 })
    assert.equal(reopened.append(event('after')), 7)
    assert.equal(readFileSync(join(dir, EVENT_IDS_FILE), 'utf8'), '10\n')
  })

  const onDisk = () => Number(readFileSync(join(dir, EVENT_IDS_FILE), 'utf8'))
  const until = async (what: string, ok: () => boolean) => {
    // A folder sync on a loaded disk can take seconds: a deadline, not a count of polls.
    const deadline = Date.now() + 30_000
    while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    assert.ok(ok(), what)
  }

  it('reserves the next block ahead, off the event loop, once half of the block is used', async () => {
    const log = openEventLog({ dataDir: dir, blockSize: 10 })
    assert.equal(onDisk(), 11)
    for (let i = 1; i <= 4; i++) log.append(event(`e${i}`))
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(onDisk(), 11, 'not before half the block is used')
    log.append(event('e5'))
    assert.equal(onDisk(), 11, 'written ahead, not at once')
    // The file shows the new limit at its rename; the block counts once the folder is synced too.
    await until('the next block is on disk before the current one runs out', () => onDisk() === 21)
    await until('the write ahead is durable, its block reserved', () => log.reserved === 21)
    for (let i = 6; i <= 14; i++) assert.equal(log.append(event(`e${i}`)), i)
    assert.equal(onDisk(), 21, 'ids 11 to 14 came from the block written ahead')
    // The 15th is half of the second block: the third is written ahead, and may land at once.
    assert.equal(log.append(event('e15')), 15)
    await log.close()
    assert.equal(openEventLog({ dataDir: dir, blockSize: 10 }).append(event('after')), 31)
  })

  it('a block that runs out while the next is written ahead is reserved at once; the file never goes back', async () => {
    const log = openEventLog({ dataDir: dir, blockSize: 10 })
    // No turn of the event loop between the appends: the write ahead cannot finish first.
    const ids = Array.from({ length: 25 }, (_, i) => log.append(event(`e${i}`)))
    assert.deepEqual(
      ids,
      Array.from({ length: 25 }, (_, i) => i + 1),
    )
    const atOnce = onDisk()
    assert.ok(atOnce > 25, `the file holds ${atOnce}, past every id issued`)
    await log.close()
    assert.equal(onDisk(), atOnce, 'the write ahead did not put a smaller limit back')
    assert.ok(openEventLog({ dataDir: dir, blockSize: 10 }).append(event('after')) >= atOnce)
  })

  it('whatever the pace of appends, every id issued is below the limit on disk, and a reopen starts past them all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(0)), { minLength: 1, maxLength: 30 }),
        async (blockSize, plan) => {
          const sub = mkdtempSync(join(dir, 'run-'))
          const log = openEventLog({ dataDir: sub, blockSize })
          const file = () => Number(readFileSync(join(sub, EVENT_IDS_FILE), 'utf8'))
          let last = 0
          for (const n of plan) {
            // 0: a pause in which a write ahead may finish; n: n appends in one turn.
            if (n === 0) await new Promise((r) => setTimeout(r, 3))
            for (let i = 0; i < n; i++) {
              const id = log.append(event('x'))
              assert.equal(id, last + 1)
              last = id
              assert.ok(id < file(), `id ${id} issued with ${file()} on disk`)
            }
          }
          await log.close()
          assert.ok(last < file())
          assert.ok(openEventLog({ dataDir: sub, blockSize }).append(event('after')) > last)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('replays exactly what follows a held id, and answers a gap for an older, a dropped or a never-issued one', () => {
    openEventLog({ dataDir: dir, blockSize: 10 }) // a previous run: ids 1..10 are spent
    const log = openEventLog({ dataDir: dir, blockSize: 10, capacity: 3 })
    for (const m of ['a', 'b', 'c']) log.append(event(m))
    assert.deepEqual(
      log.since(11).events.map((h) => h.id),
      [12, 13],
    )
    assert.deepEqual(log.since(10), {
      gap: false,
      events: [11, 12, 13].map((id, i) => ({ id, event: event('abc'[i]!) })),
    })
    assert.deepEqual(log.since(13), { gap: false, events: [] })
    assert.equal(log.since(5).gap, true, 'an id from the previous run')
    assert.equal(log.since(14).gap, true, 'never issued')
    log.append(event('d')) // 11 is dropped
    const dropped = log.since(10)
    assert.equal(dropped.gap, true)
    assert.deepEqual(dropped.gap && [dropped.oldest, dropped.latest], [12, 14])
    assert.deepEqual(
      dropped.events.map((h) => h.id),
      [12, 13, 14],
    )
    assert.equal(log.since(11).gap, false, 'everything after 11 is held')
  })

  it('a file that does not hold an id is a CONFIG error', () => {
    writeFileSync(join(dir, EVENT_IDS_FILE), 'garbage')
    assert.throws(() => openEventLog({ dataDir: dir }), { code: 'CONFIG' })
  })
})
