// openEventLog on a real data folder: the block of ids is on disk before its ids are used, a node
// that stops without a word (no close) starts at the next block, and replay is exact while the
// events are held and a gap once they are not.
import assert from 'node:assert/strict'
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
    const reopened = openEventLog({ dataDir: dir, blockSize: 3 })
    assert.equal(reopened.append(event('after')), 7)
    assert.equal(readFileSync(join(dir, EVENT_IDS_FILE), 'utf8'), '10\n')
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
