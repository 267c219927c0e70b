import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Hex } from 'viem'
import { ChanvmError } from '../errors.ts'
import { createGroupCommit, storeFailure as failure } from './createGroupCommit.ts'
import { createLogSync, type LogSync } from './createLogSync.ts'
import { paramsToWire, stateToWire, wireToParams, wireToState } from '../channel/wire.ts'
import type { SignedState, State } from '../channel/types.ts'
import type { WireParams, WireProposal, WireState } from '../transport/types.ts'
import type { ChannelStore, ProposalRecord, SignatureRecord } from './types.ts'

export type SqliteStoreOptions = {
  /** Path of the database file; created with its folder if missing. */
  path: string
  /**
   * Durability. Default `'FULL'`: a write's promise resolves only once the write log holding it
   * is synced to disk, so a recorded signature survives a power cut. `'NORMAL'` survives a process
   * crash but not a power cut (WAL mode, no sync of the log at commit).
   */
  synchronous?: 'FULL' | 'NORMAL'
  /**
   * Called after each disk sync with the number of writes it made durable: how many writes shared
   * one sync (group commit). For metrics and benches; default none.
   */
  onCommit?: (writes: number) => void
  /**
   * Syncs an open file to disk (`fsync`). Default `fs.fsync` on the thread pool. A seam for tests
   * that hold or fail a sync; production code leaves it out.
   */
  syncFile?: (fd: number) => Promise<void>
  /**
   * Holds the file alone for the store's whole life (SQLite's exclusive locking mode, the write
   * log's index in memory instead of a shared-memory file): a commit then takes and lets go of no
   * file lock, and no other connection (a second store, a reader, in this process or another)
   * opens the file until this store closes; one that tries fails at once. For a process that owns
   * its file, like a node, which holds its data folder alone anyway (`lockDataDir`). Default
   * `false`: every transaction takes SQLite's file locks, and other connections may read and write
   * the file in between (a version is still recorded atomically).
   */
  exclusive?: boolean
}

const SCHEMA_VERSION = '2'

const proposalToText = (p: ProposalRecord | undefined): string | null =>
  p === undefined
    ? null
    : JSON.stringify({
        mover: p.mover,
        action: p.action,
        env: { blockNumber: p.env.blockNumber.toString(), timestamp: p.env.timestamp.toString() },
        sig: p.sig,
      } satisfies WireProposal)
const textToProposal = (t: string | null): ProposalRecord | undefined => {
  if (t === null) return undefined
  const w = JSON.parse(t) as WireProposal
  return {
    mover: w.mover,
    action: w.action,
    env: { blockNumber: BigInt(w.env.blockNumber), timestamp: BigInt(w.env.timestamp) },
    sig: w.sig,
  }
}

/** Versions are uint64: stored as 20-digit zero-padded text so they sort and never overflow. */
const v2t = (v: bigint) => v.toString().padStart(20, '0')

/**
 * A ChannelStore in a SQLite file (WAL). Writes are durable when the promise resolves, but for
 * `writeSignedState`, which resolves at its commit and starts no sync (`whenDurable` asks for it,
 * at once or after its linger, and waits for it). Writes
 * asked for in the same turn of the event loop (from any channel) share one transaction; the disk
 * sync of the write log runs on the thread pool, not on the event loop, and one sync serves every
 * commit made before it started (group commit). A read sees every write asked for before it and
 * resolves only once what it read is durable.
 * Several connections may open the same file, and a version is recorded atomically; opened
 * `exclusive`, the store holds its file alone and its commits take no file lock.
 * Opening writes a probe: a file that cannot be written (read-only, full disk) is a `STORE_ERROR`
 * at once, not at the first signature.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ path: './alice.db' })
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): ChannelStore {
  let db: Database.Database
  let log: LogSync | undefined
  let opened: Database.Database | undefined // closed again when opening fails
  try {
    mkdirSync(dirname(options.path), { recursive: true })
    const exclusive = options.exclusive === true
    // A store that holds its file alone waits for no lock: another holder keeps it until it closes.
    db = opened = new Database(options.path, { timeout: exclusive ? 0 : 5000 })
    // Set before the first access in WAL mode: SQLite then keeps the write log's index in memory,
    // not in a shared-memory file, and takes the file's lock once, at the probe below, for good.
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE')
    const mode = db.pragma('journal_mode = WAL', { simple: true })
    // In WAL mode the log is synced here, off the event loop (see `createLogSync`); SQLite itself
    // syncs only at checkpoints and when the log restarts (synchronous=NORMAL). Without WAL
    // (a file system that refuses it), SQLite syncs every commit itself.
    const ownSync = mode === 'wal' && (options.synchronous ?? 'FULL') === 'FULL'
    db.pragma(`synchronous = ${ownSync ? 'NORMAL' : (options.synchronous ?? 'FULL')}`)
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS channels (
        channel_id TEXT PRIMARY KEY, params TEXT NOT NULL, my_index INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS signatures (
        channel_id TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, state TEXT NOT NULL,
        proposal TEXT, PRIMARY KEY (channel_id, version));
      CREATE TABLE IF NOT EXISTS states (
        channel_id TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL, sigs TEXT NOT NULL,
        PRIMARY KEY (channel_id, version));
      CREATE TABLE IF NOT EXISTS forced_states (
        channel_id TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (channel_id, version));
      CREATE TABLE IF NOT EXISTS funding (channel_id TEXT PRIMARY KEY, deposited TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS disputes (channel_id TEXT PRIMARY KEY);
    `)
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as
      { value: string } | undefined
    if (row === undefined)
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION)
    else if (row.value === '1') {
      // Schema 1 had no proposal next to a signature record.
      db.transaction(() => {
        db.exec('ALTER TABLE signatures ADD COLUMN proposal TEXT')
        db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(SCHEMA_VERSION, 'schema')
      }).immediate()
    } else if (row.value !== SCHEMA_VERSION)
      throw new Error(`database schema ${row.value}, this build reads ${SCHEMA_VERSION}`)
    probe(db)
    if (ownSync)
      log = createLogSync({
        path: options.path,
        shared: !exclusive,
        ...(options.syncFile === undefined ? {} : { syncFile: options.syncFile }),
        ...(options.onCommit === undefined ? {} : { onSynced: options.onCommit }),
        failed: (e) => failure('sync', e),
      })
  } catch (e) {
    if (opened?.open === true) opened.close()
    const held = (e as { code?: unknown }).code === 'SQLITE_BUSY' ? ': another connection holds it' : ''
    throw new ChanvmError('STORE_ERROR', `cannot open the store at ${options.path}${held}`, { cause: e })
  }

  const q = {
    putChannel: db.prepare(
      'INSERT INTO channels (channel_id, params, my_index) VALUES (?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET params = excluded.params, my_index = excluded.my_index',
    ),
    getChannel: db.prepare('SELECT channel_id, params, my_index FROM channels WHERE channel_id = ?'),
    listChannels: db.prepare('SELECT channel_id, params, my_index FROM channels ORDER BY channel_id'),
    insertSig: db.prepare(
      'INSERT INTO signatures (channel_id, version, digest, state, proposal) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    getSig: db.prepare('SELECT digest, state, proposal FROM signatures WHERE channel_id = ? AND version = ?'),
    putState: db.prepare(
      'INSERT INTO states (channel_id, version, state, sigs) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state, sigs = excluded.sigs',
    ),
    latest: db.prepare('SELECT state, sigs FROM states WHERE channel_id = ? ORDER BY version DESC LIMIT 1'),
    getState: db.prepare('SELECT state, sigs FROM states WHERE channel_id = ? AND version = ?'),
    putForced: db.prepare(
      'INSERT INTO forced_states (channel_id, version, state) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state',
    ),
    latestForced: db.prepare(
      'SELECT state FROM forced_states WHERE channel_id = ? ORDER BY version DESC LIMIT 1',
    ),
    putFunding: db.prepare(
      'INSERT INTO funding (channel_id, deposited) VALUES (?, ?) ON CONFLICT DO UPDATE SET deposited = excluded.deposited',
    ),
    getFunding: db.prepare('SELECT deposited FROM funding WHERE channel_id = ?'),
    putDisputed: db.prepare('INSERT INTO disputes (channel_id) VALUES (?) ON CONFLICT DO NOTHING'),
    isDisputed: db.prepare('SELECT 1 AS one FROM disputes WHERE channel_id = ?'),
  }
  type ChannelRow = { channel_id: string; params: string; my_index: number }
  type StateRow = { state: string; sigs: string }
  type SigRow = { digest: string; state: string; proposal: string | null }
  const toRecord = (channelId: Hex, version: bigint, row: SigRow): SignatureRecord => {
    const proposal = textToProposal(row.proposal)
    return {
      channelId,
      version,
      digest: row.digest as Hex,
      state: wireToState(JSON.parse(row.state) as WireState),
      ...(proposal === undefined ? {} : { proposal }),
    }
  }
  const key = (id: Hex) => id.toLowerCase()
  const toChannel = (r: ChannelRow) => ({
    channelId: r.channel_id as Hex,
    params: wireToParams(JSON.parse(r.params) as WireParams),
    myIndex: r.my_index,
  })
  const toSigned = (r: StateRow): SignedState => ({
    state: wireToState(JSON.parse(r.state) as WireState),
    signatures: JSON.parse(r.sigs) as Hex[],
  })

  const stateText = (s: State) => JSON.stringify(stateToWire(s))
  // A write below that throws takes all of its rows back, and only its own (createGroupCommit):
  // a write of several rows needs no savepoint here.
  const record = (r: SignatureRecord, state = stateText(r.state)) => {
    const info = q.insertSig.run(
      key(r.channelId),
      v2t(r.version),
      r.digest.toLowerCase(),
      state,
      proposalToText(r.proposal),
    )
    if (info.changes === 1) return { ok: true as const }
    const row = q.getSig.get(key(r.channelId), v2t(r.version)) as SigRow
    if (row.digest === r.digest.toLowerCase()) return { ok: true as const }
    return { ok: false as const, existing: toRecord(r.channelId, r.version, row) }
  }

  const putState = (id: Hex, s: SignedState, state = stateText(s.state)) =>
    void q.putState.run(key(id), v2t(s.state.version), state, JSON.stringify(s.signatures))

  /** A signature record and its co-signed state; the state's text is made once when both rows hold the same state. */
  const recordAndPut = (r: SignatureRecord, signed: SignedState) => {
    const text = stateText(r.state)
    const res = record(r, text)
    if (res.ok) putState(r.channelId, signed, signed.state === r.state ? text : stateText(signed.state))
    return res
  }

  const {
    write,
    read: wrap,
    whenDurable,
    flush,
  } = createGroupCommit({
    db,
    log,
    ...(options.onCommit === undefined ? {} : { onCommit: options.onCommit }),
  })
  const close = async () => {
    flush()
    await log?.close()
    if (db.open) db.close()
    if (log?.failure() !== undefined) throw log.failure()
  }

  return {
    probeWrite: () => wrap('probeWrite', () => probe(db)),
    putChannel: (r) =>
      write(
        'putChannel',
        () => void q.putChannel.run(key(r.channelId), JSON.stringify(paramsToWire(r.params)), r.myIndex),
        r.channelId,
      ),
    getChannel: (id) =>
      wrap(
        'getChannel',
        () => {
          const r = q.getChannel.get(key(id)) as ChannelRow | undefined
          return r === undefined ? undefined : toChannel(r)
        },
        id,
      ),
    listChannels: () => wrap('listChannels', () => (q.listChannels.all() as ChannelRow[]).map(toChannel)),
    recordSignature: (r) => write('recordSignature', () => record(r), r.channelId),
    recordSignatureAndState: (r, signed) =>
      write('recordSignatureAndState', () => recordAndPut(r, signed), r.channelId),
    getSignatureRecord: (id, version) =>
      wrap(
        'getSignatureRecord',
        () => {
          const row = q.getSig.get(key(id), v2t(version)) as SigRow | undefined
          return row === undefined ? undefined : toRecord(id, version, row)
        },
        id,
      ),
    putSignedState: (id, s) => write('putSignedState', () => putState(id, s), id),
    writeSignedState: (id, s) => write('writeSignedState', () => putState(id, s), id, { writtenOnly: true }),
    whenDurable,
    getLatestSignedState: (id) =>
      wrap(
        'getLatestSignedState',
        () => {
          const r = q.latest.get(key(id)) as StateRow | undefined
          return r === undefined ? undefined : toSigned(r)
        },
        id,
        true,
      ),
    getSignedState: (id, version) =>
      wrap(
        'getSignedState',
        () => {
          const r = q.getState.get(key(id), v2t(version)) as StateRow | undefined
          return r === undefined ? undefined : toSigned(r)
        },
        id,
        true,
      ),
    putForcedState: (id, s) =>
      write(
        'putForcedState',
        () => void q.putForced.run(key(id), v2t(s.version), JSON.stringify(stateToWire(s))),
        id,
      ),
    getLatestForcedState: (id) =>
      wrap(
        'getLatestForcedState',
        () => {
          const r = q.latestForced.get(key(id)) as { state: string } | undefined
          return r === undefined ? undefined : wireToState(JSON.parse(r.state) as WireState)
        },
        id,
      ),
    putFunding: (id, deposited) =>
      write('putFunding', () => void q.putFunding.run(key(id), JSON.stringify(deposited.map(String))), id),
    getFunding: (id) =>
      wrap(
        'getFunding',
        () => {
          const r = q.getFunding.get(key(id)) as { deposited: string } | undefined
          return r === undefined ? undefined : (JSON.parse(r.deposited) as string[]).map(BigInt)
        },
        id,
      ),
    putDisputed: (id) => write('putDisputed', () => void q.putDisputed.run(key(id)), id),
    isDisputed: (id) => wrap('isDisputed', () => q.isDisputed.get(key(id)) !== undefined, id),
    close: () => close().catch((e: unknown) => Promise.reject(failure('close', e))),
  }
}

/** Opens the write log of the database at `path` for syncing, and syncs it and its folder once. */
/** Writes a probe and reads it back in one immediate transaction; throws what SQLite throws. */
function probe(db: Database.Database): void {
  const value = `${process.pid}:${Date.now()}`
  db.transaction(() => {
    db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run('probe', value)
    const back = db.prepare('SELECT value FROM meta WHERE key = ?').get('probe') as
      { value: string } | undefined
    if (back?.value !== value) throw new Error('the write probe did not read back')
  }).immediate()
}
