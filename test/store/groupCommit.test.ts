import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { ChanvmError } from '../../engine/errors.ts'
import { createGroupCommit } from '../../engine/store/createGroupCommit.ts'

describe('group commit: an error that takes back the whole transaction', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chanvm-group-commit-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('fails every write of the turn with that error, and no write of the turn stays in the file', async () => {
    const db = new Database(join(dir, 'full.db'))
    try {
      db.exec('CREATE TABLE t (k TEXT NOT NULL, v BLOB NOT NULL)')
      const pages = db.pragma('page_count', { simple: true }) as number
      // Room for a few small rows, not for a large one: the large write fills the file (SQLITE_FULL).
      db.pragma(`max_page_count = ${pages + 3}`)
      const { write } = createGroupCommit({ db, log: undefined })
      const put = (k: string, bytes: number) => () =>
        db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, Buffer.alloc(bytes, 7))
      const results = await Promise.allSettled([
        write('first', put('a', 16)),
        write('too large', put('b', 1 << 20)),
        write('third', put('c', 16)),
      ])
      for (const r of results) {
        assert.equal(r.status, 'rejected')
        const e = (r as PromiseRejectedResult).reason as ChanvmError
        assert.equal(e.code, 'STORE_ERROR')
        assert.equal((e.cause as { code?: string }).code, 'SQLITE_FULL')
      }
      assert.equal(db.inTransaction, false)
      assert.deepEqual(db.prepare('SELECT k FROM t').all(), [])
      // The store goes on once there is room again.
      db.pragma(`max_page_count = ${pages + 1000}`)
      await write('after', put('d', 16))
      assert.deepEqual(db.prepare('SELECT k FROM t').all(), [{ k: 'd' }])
    } finally {
      db.close()
    }
  })
})
