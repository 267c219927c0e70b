// The consumer of the consumer kill test (test/oracles/consumerKill.test.ts) in its own process: the
// MQTT input source with a persistent session and durable replay marks kept in the consumer's own
// SQLite file, and a handler that stores each reading under a unique (signer, sequence) key
// (idempotent: storing one again is counted as `existing` and changes nothing) and, with
// CHANVM_MARKS=own-transaction (the default), records its replay mark in the same transaction;
// with CHANVM_MARKS=after-handler the input source records it after the handler returned.
//
// Env: CHANVM_BROKER_URL, CHANVM_DB, CHANVM_CLIENT_ID, CHANVM_DEVICES (comma-separated signer ids),
// CHANVM_CHAIN_ID, CHANVM_CRASH = `<before|inside|after>:<n>`: SIGKILL itself at the n-th reading
// handed to the handler since start, before its transaction, inside it (rows written, not
// committed) or after the commit (stored, not yet acknowledged).
// IPC to the parent: `{ ready: stored }`, `{ stored: count }` after every reading stored,
// `{ stats }` on `{ stop }`, then it exits.
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { createMqttInputSource } from '../../../oracles/mqtt/createMqttInputSource.ts'
import { createSqliteReplayStore } from '../../../oracles/mqtt/createSqliteReplayStore.ts'
import { replayEntryOf } from '../../../oracles/mqtt/replayStore.ts'

const send = (m: unknown) => {
  if (process.connected) process.send?.(m, undefined, {}, () => undefined)
}
process.on('error', () => undefined) // the parent may go away mid-send
const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === '') throw new Error(`${name} is not set`)
  return v
}
const die = () => process.kill(process.pid, 'SIGKILL')
const ownTransaction = (process.env.CHANVM_MARKS ?? 'own-transaction') === 'own-transaction'
const crashSpec = process.env.CHANVM_CRASH
const crash =
  crashSpec === undefined || crashSpec === ''
    ? undefined
    : { when: crashSpec.split(':')[0] as 'before' | 'inside' | 'after', n: Number(crashSpec.split(':')[1]) }

const db = new Database(env('CHANVM_DB'))
db.pragma('journal_mode = WAL')
db.pragma('synchronous = FULL')
db.exec(`
  CREATE TABLE IF NOT EXISTS readings (
    signer TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (signer, sequence)
  );
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
`)
const replayStore = createSqliteReplayStore({ db })
const insert = db.prepare('INSERT OR IGNORE INTO readings (signer, sequence, digest) VALUES (?, ?, ?)')
const bump = db.prepare(
  'INSERT INTO counters (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1',
)
let stored = (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n
let handed = 0

const store = db.transaction((input: { signer: Hex; sequence: bigint; digest: Hex; stream: string }) => {
  const inserted = insert.run(input.signer, input.sequence, input.digest).changes === 1
  if (!inserted) bump.run('existing')
  if (ownTransaction) replayStore.record(replayEntryOf(input))
  if (crash?.when === 'inside' && handed === crash.n) die()
  return inserted
})

const source = await createMqttInputSource({
  url: env('CHANVM_BROKER_URL'),
  clientId: env('CHANVM_CLIENT_ID'),
  chainId: BigInt(env('CHANVM_CHAIN_ID')),
  devices: env('CHANVM_DEVICES').split(',') as Hex[],
  maxAgeSec: 86_400,
  log: false,
  minBackoffMs: 50,
  maxBackoffMs: 500,
  replayStore,
  // The test measures delivery, not fairness: the backlog after a restart is never rate-limited.
  rateLimit: { perSignerPerSec: 1e6, perSignerBurst: 1e6, totalPerSec: 1e6, totalBurst: 1e6 },
})
source.onRejection((e) => bump.run(`verdict:${e.verdict}`))
source.onInput((input) => {
  handed++
  if (crash?.when === 'before' && handed === crash.n) die()
  if (store(input)) stored++
  if (crash?.when === 'after' && handed === crash.n) die()
  send({ stored })
})
send({ ready: stored })

process.on('message', (m: { stop?: true }) => {
  if (m.stop !== true) return
  void source.close().then(() => {
    send({ stats: JSON.parse(JSON.stringify(source.stats())) })
    replayStore.close()
    db.close()
    process.disconnect?.()
    process.exit(0)
  })
})
