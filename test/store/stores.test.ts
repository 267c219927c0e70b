import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { stateToWire } from '../../engine/channel/wire.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { channelStoreConformance } from './conformance.ts'
import { escrowChannel } from '../support/channel.ts'

const dir = mkdtempSync(join(tmpdir(), 'chanvm-store-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const paths = new WeakMap<ChannelStore, string>()

channelStoreConformance('memory', async () => createMemoryStore())
channelStoreConformance(
  'sqlite',
  async () => {
    const path = join(dir, `s${n++}.db`)
    const s = createSqliteStore({ path })
    paths.set(s, path)
    return s
  },
  async (s) => {
    const path = paths.get(s) as string
    await s.close()
    return createSqliteStore({ path })
  },
)

describe('sqlite store', () => {
  it('two connections to one file cannot record different digests for one version', async () => {
    const path = join(dir, 'shared.db')
    const a = createSqliteStore({ path })
    const b = createSqliteStore({ path })
    const { channelId, initial } = escrowChannel()
    const ra = await a.recordSignature({
      channelId,
      version: 3n,
      digest: `0x${'01'.repeat(32)}` as Hex,
      state: initial,
    })
    const rb = await b.recordSignature({
      channelId,
      version: 3n,
      digest: `0x${'02'.repeat(32)}` as Hex,
      state: initial,
    })
    assert.equal(ra.ok, true)
    assert.equal(rb.ok, false)
    await a.close()
    await b.close()
  })

  it('writes of many channels asked for in one turn share one commit, and each settles only once it is committed', async () => {
    const path = join(dir, 'group.db')
    const commits: number[] = []
    const a = createSqliteStore({ path, onCommit: (n) => commits.push(n) })
    const reader = createSqliteStore({ path })
    const { initial } = escrowChannel()
    const ids = Array.from({ length: 50 }, (_, i) => `0x${(i + 1).toString(16).padStart(64, '0')}` as Hex)
    const digest = (i: number) => `0x${(i + 1).toString(16).padStart(64, 'a')}` as Hex
    const seenByReader: boolean[] = []
    const writes = ids.map((channelId, i) =>
      a
        .recordSignature({ channelId, version: 1n, digest: digest(i), state: { ...initial, channelId } })
        .then(async (r) => {
          // Settled means durable: another connection to the file already sees it.
          seenByReader[i] = (await reader.getSignatureRecord(channelId, 1n))?.digest === digest(i)
          return r
        }),
    )
    // A conflicting digest for a version asked for in the same turn is refused, the others stand.
    const conflict = a.recordSignature({
      channelId: ids[0]!,
      version: 1n,
      digest: digest(99),
      state: initial,
    })
    const puts = ids.slice(0, 10).map((channelId, i) =>
      a.putSignedState(channelId, {
        state: { ...initial, channelId, version: 1n },
        signatures: [digest(i)],
      }),
    )
    // Nothing is committed before the turn ends.
    assert.equal(await reader.getSignatureRecord(ids[0]!, 1n), undefined)
    const results = await Promise.all(writes)
    assert(results.every((r) => r.ok))
    assert.equal((await conflict).ok, false)
    await Promise.all(puts)
    assert.deepEqual(commits, [61], 'one commit (one disk sync) for the 61 writes')
    assert.equal(seenByReader.filter(Boolean).length, 50)
    // A read sees a write asked for before it, even within the same turn.
    const put = a.putFunding(ids[1]!, [1n, 2n])
    assert.deepEqual(await a.getFunding(ids[1]!), [1n, 2n])
    await put
    await a.close()
    await reader.close()
  })

  it('opens a schema-1 file (no proposals, no funding) and upgrades it in place', async () => {
    const path = join(dir, 'schema1.db')
    const { channelId, initial } = escrowChannel()
    const db = new Database(path)
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE signatures (channel_id TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (channel_id, version));
    `)
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', '1')
    db.prepare('INSERT INTO signatures VALUES (?, ?, ?, ?)').run(
      channelId.toLowerCase(),
      '2'.padStart(20, '0'),
      `0x${'01'.repeat(32)}`,
      JSON.stringify(stateToWire({ ...initial, version: 2n })),
    )
    db.close()
    const s = createSqliteStore({ path })
    const rec = await s.getSignatureRecord(channelId, 2n)
    assert.equal(rec?.digest, `0x${'01'.repeat(32)}`)
    assert.equal(rec?.proposal, undefined)
    assert.equal(await s.getFunding(channelId), undefined)
    await s.close()
  })

  it('a path that cannot be opened is a typed STORE_ERROR', () => {
    const file = join(dir, 'not-a-folder')
    writeFileSync(file, 'x')
    assert.throws(
      () => createSqliteStore({ path: join(file, 'nope.db') }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR',
    )
  })
})
