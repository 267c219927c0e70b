import assert from 'node:assert/strict'
import { existsSync, fstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
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

channelStoreConformance(
  'sqlite, exclusive',
  async () => {
    const path = join(dir, `s${n++}.db`)
    const s = createSqliteStore({ path, exclusive: true })
    paths.set(s, path)
    return s
  },
  async (s) => {
    const path = paths.get(s) as string
    await s.close()
    return createSqliteStore({ path, exclusive: true })
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

  it('exclusive, holds its file alone: no other connection opens it until the store closes; then the file holds every write', async () => {
    const path = join(dir, 'alone.db')
    const a = createSqliteStore({ path, exclusive: true })
    const { channelId, initial } = escrowChannel()
    const digest = `0x${'01'.repeat(32)}` as Hex
    assert.deepEqual(await a.recordSignature({ channelId, version: 3n, digest, state: initial }), {
      ok: true,
    })
    const isHeld = (e: unknown) =>
      e instanceof ChanvmError && e.code === 'STORE_ERROR' && /another connection holds it/.test(e.message)
    assert.throws(() => createSqliteStore({ path }), isHeld)
    assert.throws(() =>
      new Database(path, { readonly: true, timeout: 0 }).prepare('SELECT 1 FROM meta').get(),
    )
    // The store goes on after the refused opens; its log's index is in memory, not in a -shm file.
    assert.equal((await a.getSignatureRecord(channelId, 3n))?.digest, digest)
    assert.equal(existsSync(`${path}-shm`), false)
    await a.close()
    const b = createSqliteStore({ path, exclusive: true })
    assert.equal((await b.getSignatureRecord(channelId, 3n))?.digest, digest)
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

  it('a write of two rows that fails at its second takes its first back; the writes beside it in the commit stand', async () => {
    const path = join(dir, 'halfway.db')
    const store = createSqliteStore({ path })
    const { channelId, initial } = escrowChannel()
    const other = `0x${'0b'.repeat(32)}` as Hex
    const record = { channelId, version: 4n, digest: `0x${'04'.repeat(32)}` as Hex, state: initial }
    // The co-signed state cannot be written (no version): the signature record before it must go too.
    const broken = { state: { ...initial, version: undefined as unknown as bigint }, signatures: [] }
    const beside = store.recordSignature({ ...record, channelId: other })
    const failed = store.recordSignatureAndState(record, broken)
    await assert.rejects(failed, (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR')
    assert.equal((await beside).ok, true)
    assert.equal(await store.getSignatureRecord(channelId, 4n), undefined, 'the record was taken back')
    assert.equal((await store.getSignatureRecord(other, 4n))?.digest, record.digest)
    await store.close()
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

  describe('the sync of the write log, off the event loop', () => {
    /** A `syncFile` whose syncs are held until released, one by one or failed. */
    const heldSyncs = () => {
      const pending: { fd: number; release: () => void; fail: (e: Error) => void }[] = []
      let arrived: (() => void) | undefined
      const syncFile = (fd: number) =>
        new Promise<void>((release, fail) => {
          pending.push({ fd, release, fail })
          arrived?.()
        })
      /** The next held sync, once it was asked for. */
      const next = async () => {
        while (pending.length === 0) await new Promise<void>((r) => (arrived = r))
        return pending.shift()!
      }
      return { syncFile, next, pending }
    }
    const rec = (channelId: Hex, version: bigint, fill: string) => ({
      channelId,
      version,
      digest: `0x${fill.repeat(32)}` as Hex,
      state: { ...escrowChannel().initial, channelId, version },
    })
    const settled = (p: Promise<unknown>) => {
      let done = false
      void p.then(
        () => (done = true),
        () => (done = true),
      )
      return () => done
    }
    const turn = () => new Promise<void>((r) => setImmediate(r))

    it('a write settles only after a sync that started after its commit finished; a read of it waits too', async () => {
      const { syncFile, next } = heldSyncs()
      const commits: number[] = []
      const s = createSqliteStore({ path: join(dir, 'held.db'), syncFile, onCommit: (n) => commits.push(n) })
      const { channelId } = escrowChannel()
      const w1 = s.recordSignature(rec(channelId, 1n, '01'))
      const w1Done = settled(w1)
      const sync1 = await next()
      // Committed, not yet synced: the write has not settled, and a read of it waits as well.
      const read = s.getSignatureRecord(channelId, 1n)
      const readDone = settled(read)
      // A write committed while the first sync runs waits for a second sync.
      const w2 = s.recordSignature(rec(channelId, 2n, '02'))
      const w2Done = settled(w2)
      for (let i = 0; i < 5; i++) await turn()
      assert.equal(w1Done(), false, 'not durable: the write must not settle')
      assert.equal(readDone(), false, 'a read of a write not yet durable must not resolve')
      sync1.release()
      assert.deepEqual(await w1, { ok: true })
      assert.equal((await read)?.digest, `0x${'01'.repeat(32)}`)
      for (let i = 0; i < 5; i++) await turn()
      assert.equal(w2Done(), false, 'its commit came after the first sync started')
      ;(await next()).release()
      assert.deepEqual(await w2, { ok: true })
      assert.deepEqual(commits, [1, 1], 'one write made durable by each sync')
      await s.close()
    })

    it('a read of one channel waits only for writes of that channel; a read of all waits for every write', async () => {
      const { syncFile, next } = heldSyncs()
      const s = createSqliteStore({ path: join(dir, 'per-channel.db'), syncFile })
      const a = `0x${'0a'.repeat(32)}` as Hex
      const b = `0x${'0b'.repeat(32)}` as Hex
      await Promise.all([s.putFunding(b, [1n]), next().then((h) => h.release())])
      const w = s.putFunding(a, [2n])
      const sync = await next() // a's write is committed, not durable
      assert.deepEqual(await s.getFunding(b), [1n], 'b was not written since its last sync')
      const readA = s.getFunding(a)
      const readADone = settled(readA)
      const all = s.listChannels()
      const allDone = settled(all)
      for (let i = 0; i < 5; i++) await turn()
      assert.equal(readADone(), false, 'a read of a must wait for the sync of its write')
      assert.equal(allDone(), false, 'a read of every channel waits for every write')
      sync.release()
      await w
      assert.deepEqual(await readA, [2n])
      await all
      await s.close()
    })

    it('writes committed while a sync runs share the next one', async () => {
      const { syncFile, next } = heldSyncs()
      const commits: number[] = []
      const s = createSqliteStore({
        path: join(dir, 'shared-sync.db'),
        syncFile,
        onCommit: (n) => commits.push(n),
      })
      const ids = Array.from({ length: 6 }, (_, i) => `0x${(i + 1).toString(16).padStart(64, '0')}` as Hex)
      const first = s.recordSignature(rec(ids[0]!, 1n, '01'))
      const sync1 = await next()
      // Five commits, in five turns, while the first sync is held.
      const later: Promise<unknown>[] = []
      for (const id of ids.slice(1)) {
        later.push(s.recordSignature(rec(id, 1n, '02')))
        await turn()
      }
      sync1.release()
      await first
      ;(await next()).release()
      await Promise.all(later)
      assert.deepEqual(commits, [1, 5])
      await s.close()
    })

    it('a failed sync fails its writes and every later call with STORE_ERROR', async () => {
      const { syncFile, next } = heldSyncs()
      const s = createSqliteStore({ path: join(dir, 'failed-sync.db'), syncFile })
      const { channelId } = escrowChannel()
      const w = s.recordSignature(rec(channelId, 1n, '01'))
      ;(await next()).fail(new Error('EIO'))
      const isStoreError = (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR'
      await assert.rejects(w, isStoreError)
      await assert.rejects(s.recordSignature(rec(channelId, 2n, '02')), isStoreError)
      await assert.rejects(s.getSignatureRecord(channelId, 1n), isStoreError)
      await assert.rejects(s.close(), isStoreError)
    })

    it('writeSignedState settles at its commit and starts no sync; whenDurable and reads of co-signed states wait for the sync, other reads do not', async () => {
      const { syncFile, next, pending } = heldSyncs()
      const s = createSqliteStore({ path: join(dir, 'written.db'), syncFile })
      const { channelId, initial } = escrowChannel()
      await Promise.all([s.recordSignature(rec(channelId, 1n, '01')), next().then((h) => h.release())])
      const signed = { state: { ...initial, version: 1n }, signatures: [] }
      await s.writeSignedState(channelId, signed) // settles at its commit, before any sync
      for (let i = 0; i < 5; i++) await turn()
      assert.equal(pending.length, 0, 'a co-signed state written only must not start a sync by itself')
      const durable = s.whenDurable()
      const sync = await next()
      const durableDone = settled(durable)
      const readState = s.getLatestSignedState(channelId)
      const readStateDone = settled(readState)
      // A signature record of the channel is read at once: it was durable before.
      assert.equal((await s.getSignatureRecord(channelId, 1n))?.digest, `0x${'01'.repeat(32)}`)
      // The next write commits after it while the sync is held; it waits for a sync of its own.
      const w2 = s.recordSignature(rec(channelId, 2n, '02'))
      const w2Done = settled(w2)
      for (let i = 0; i < 5; i++) await turn()
      assert.equal(durableDone(), false, 'whenDurable must wait for the sync')
      assert.equal(readStateDone(), false, 'a read of a co-signed state not yet durable must wait')
      assert.equal(w2Done(), false)
      sync.release()
      await durable
      assert.equal((await readState)?.state.version, 1n)
      ;(await next()).release()
      assert.deepEqual(await w2, { ok: true })
      await s.whenDurable()
      await s.close()
    })

    it("whenDurable with a linger starts no sync before its time; a write's sync meanwhile serves it, alone it syncs once the time is up", async () => {
      const { syncFile, next, pending } = heldSyncs()
      const commits: number[] = []
      const s = createSqliteStore({
        path: join(dir, 'linger.db'),
        syncFile,
        onCommit: (n) => commits.push(n),
      })
      const { channelId, initial } = escrowChannel()
      const other = escrowChannel({ nonce: 2n }).channelId
      await s.writeSignedState(channelId, { state: { ...initial, version: 1n }, signatures: [] })
      const lingering = s.whenDurable(60_000)
      const lingeringDone = settled(lingering)
      for (let i = 0; i < 5; i++) await turn()
      assert.equal(pending.length, 0, 'a lingering wait must not start a sync before its time')
      // A record of another channel needs a sync now: the one sync serves both.
      const w = s.recordSignature(rec(other, 1n, '03'))
      const sync = await next()
      assert.equal(lingeringDone(), false)
      sync.release()
      await Promise.all([lingering, w])
      assert.deepEqual(commits, [2], 'one sync for the co-signed state and the record')
      // Alone, a lingering wait is served once its time is up, not before: a timer set after the
      // wait's and due before it fires first, with no sync started.
      await s.writeSignedState(channelId, { state: { ...initial, version: 2n }, signatures: [] })
      const alone = s.whenDurable(200)
      await new Promise((r) => setTimeout(r, 50))
      assert.equal(pending.length, 0, 'a lingering wait alone must not start a sync before its time')
      ;(await next()).release()
      await alone
      assert.deepEqual(commits, [2, 1])
      // Closing serves a lingering wait at once, also one that came while a sync was running.
      const w4 = s.recordSignature(rec(other, 2n, '04'))
      const running = await next()
      await s.writeSignedState(channelId, { state: { ...initial, version: 3n }, signatures: [] })
      const atClose = s.whenDurable(60_000)
      const closed = s.close()
      running.release()
      ;(await next()).release()
      await Promise.all([atClose, closed, w4])
      assert.deepEqual(commits, [2, 1, 1, 1])
    })

    it('a failed sync after writeSignedState rejects whenDurable with STORE_ERROR', async () => {
      const { syncFile, next } = heldSyncs()
      const s = createSqliteStore({ path: join(dir, 'written-failed.db'), syncFile })
      const { channelId, initial } = escrowChannel()
      await s.writeSignedState(channelId, { state: { ...initial, version: 1n }, signatures: [] })
      const durable = s.whenDurable()
      ;(await next()).fail(new Error('EIO'))
      const isStoreError = (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR'
      await assert.rejects(durable, isStoreError)
      await assert.rejects(s.whenDurable(), isStoreError)
      await assert.rejects(
        s.writeSignedState(channelId, { state: { ...initial, version: 2n }, signatures: [] }),
        isStoreError,
      )
      await assert.rejects(s.close(), isStoreError)
    })

    it('syncs the file SQLite writes its log to', async () => {
      const path = join(dir, 'which-file.db')
      const fds: number[] = []
      const s = createSqliteStore({
        path,
        syncFile: async (fd) => void fds.push(fd),
      })
      const { channelId } = escrowChannel()
      await s.recordSignature(rec(channelId, 1n, '01'))
      assert.equal(fds.length, 1)
      assert.equal(fstatSync(fds[0]!).ino, statSync(`${path}-wal`).ino)
      await s.close()
    })
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
