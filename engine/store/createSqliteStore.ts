import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Hex } from 'viem'
import { ChanvmError } from '../errors.ts'
import { paramsToWire, stateToWire, wireToParams, wireToState } from '../channel/wire.ts'
import type { SignedState } from '../channel/types.ts'
import type { WireParams, WireState } from '../transport/types.ts'
import type { ChannelStore, SignatureRecord } from './types.ts'

export type SqliteStoreOptions = {
  /** Path of the database file; created with its folder if missing. */
  path: string
  /**
   * SQLite `synchronous` level. Default `'FULL'`: every commit is fsynced before the call
   * returns, so a recorded signature survives a power cut. `'NORMAL'` survives a process crash
   * but not a power cut (WAL mode).
   */
  synchronous?: 'FULL' | 'NORMAL'
}

const SCHEMA_VERSION = '1'

/** Versions are uint64: stored as 20-digit zero-padded text so they sort and never overflow. */
const v2t = (v: bigint) => v.toString().padStart(20, '0')

/**
 * A ChannelStore in a SQLite file (WAL, synchronous=FULL by default). Writes are durable when the
 * promise resolves. Several processes may open the same file; a version is recorded atomically.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ path: './alice.db' })
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): ChannelStore {
  let db: Database.Database
  try {
    mkdirSync(dirname(options.path), { recursive: true })
    db = new Database(options.path)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
    db.pragma('busy_timeout = 5000')
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS channels (
        channel_id TEXT PRIMARY KEY, params TEXT NOT NULL, my_index INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS signatures (
        channel_id TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (channel_id, version));
      CREATE TABLE IF NOT EXISTS states (
        channel_id TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL, sigs TEXT NOT NULL,
        PRIMARY KEY (channel_id, version));
      CREATE TABLE IF NOT EXISTS forced_states (
        channel_id TEXT NOT NULL, version TEXT NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (channel_id, version));
    `)
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined
    if (row === undefined) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION)
    else if (row.value !== SCHEMA_VERSION) throw new Error(`database schema ${row.value}, this build reads ${SCHEMA_VERSION}`)
  } catch (e) {
    throw new ChanvmError('STORE_ERROR', `cannot open the store at ${options.path}`, { cause: e })
  }

  const q = {
    putChannel: db.prepare('INSERT INTO channels (channel_id, params, my_index) VALUES (?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET params = excluded.params, my_index = excluded.my_index'),
    getChannel: db.prepare('SELECT channel_id, params, my_index FROM channels WHERE channel_id = ?'),
    listChannels: db.prepare('SELECT channel_id, params, my_index FROM channels ORDER BY channel_id'),
    insertSig: db.prepare('INSERT INTO signatures (channel_id, version, digest, state) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    getSig: db.prepare('SELECT digest, state FROM signatures WHERE channel_id = ? AND version = ?'),
    putState: db.prepare('INSERT INTO states (channel_id, version, state, sigs) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state, sigs = excluded.sigs'),
    latest: db.prepare('SELECT state, sigs FROM states WHERE channel_id = ? ORDER BY version DESC LIMIT 1'),
    getState: db.prepare('SELECT state, sigs FROM states WHERE channel_id = ? AND version = ?'),
    putForced: db.prepare('INSERT INTO forced_states (channel_id, version, state) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state'),
    latestForced: db.prepare('SELECT state FROM forced_states WHERE channel_id = ? ORDER BY version DESC LIMIT 1'),
  }
  type ChannelRow = { channel_id: string; params: string; my_index: number }
  type StateRow = { state: string; sigs: string }
  const key = (id: Hex) => id.toLowerCase()
  const toChannel = (r: ChannelRow) => ({ channelId: r.channel_id as Hex, params: wireToParams(JSON.parse(r.params) as WireParams), myIndex: r.my_index })
  const toSigned = (r: StateRow): SignedState => ({ state: wireToState(JSON.parse(r.state) as WireState), signatures: JSON.parse(r.sigs) as Hex[] })

  const record = db.transaction((r: SignatureRecord) => {
    const info = q.insertSig.run(key(r.channelId), v2t(r.version), r.digest.toLowerCase(), JSON.stringify(stateToWire(r.state)))
    if (info.changes === 1) return { ok: true as const }
    const row = q.getSig.get(key(r.channelId), v2t(r.version)) as { digest: string; state: string }
    if (row.digest === r.digest.toLowerCase()) return { ok: true as const }
    return {
      ok: false as const,
      existing: { channelId: r.channelId, version: r.version, digest: row.digest as Hex, state: wireToState(JSON.parse(row.state) as WireState) },
    }
  })

  const recordAndPut = db.transaction((r: SignatureRecord, signed: SignedState) => {
    const res = record(r)
    if (res.ok) q.putState.run(key(r.channelId), v2t(signed.state.version), JSON.stringify(stateToWire(signed.state)), JSON.stringify(signed.signatures))
    return res
  })

  const wrap = <T>(what: string, f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f())
    } catch (e) {
      if (e instanceof ChanvmError) return Promise.reject(e)
      return Promise.reject(new ChanvmError('STORE_ERROR', `store: ${what} failed`, { cause: e }))
    }
  }

  return {
    putChannel: (r) => wrap('putChannel', () => void q.putChannel.run(key(r.channelId), JSON.stringify(paramsToWire(r.params)), r.myIndex)),
    getChannel: (id) =>
      wrap('getChannel', () => {
        const r = q.getChannel.get(key(id)) as ChannelRow | undefined
        return r === undefined ? undefined : toChannel(r)
      }),
    listChannels: () => wrap('listChannels', () => (q.listChannels.all() as ChannelRow[]).map(toChannel)),
    recordSignature: (r) => wrap('recordSignature', () => record.immediate(r)),
    recordSignatureAndState: (r, signed) => wrap('recordSignatureAndState', () => recordAndPut.immediate(r, signed)),
    getSignatureRecord: (id, version) =>
      wrap('getSignatureRecord', () => {
        const row = q.getSig.get(key(id), v2t(version)) as { digest: string; state: string } | undefined
        return row === undefined ? undefined : { channelId: id, version, digest: row.digest as Hex, state: wireToState(JSON.parse(row.state) as WireState) }
      }),
    putSignedState: (id, s) => wrap('putSignedState', () => void q.putState.run(key(id), v2t(s.state.version), JSON.stringify(stateToWire(s.state)), JSON.stringify(s.signatures))),
    getLatestSignedState: (id) =>
      wrap('getLatestSignedState', () => {
        const r = q.latest.get(key(id)) as StateRow | undefined
        return r === undefined ? undefined : toSigned(r)
      }),
    getSignedState: (id, version) =>
      wrap('getSignedState', () => {
        const r = q.getState.get(key(id), v2t(version)) as StateRow | undefined
        return r === undefined ? undefined : toSigned(r)
      }),
    putForcedState: (id, s) => wrap('putForcedState', () => void q.putForced.run(key(id), v2t(s.version), JSON.stringify(stateToWire(s)))),
    getLatestForcedState: (id) =>
      wrap('getLatestForcedState', () => {
        const r = q.latestForced.get(key(id)) as { state: string } | undefined
        return r === undefined ? undefined : wireToState(JSON.parse(r.state) as WireState)
      }),
    close: () => wrap('close', () => void (db.open ? db.close() : undefined)),
  }
}
