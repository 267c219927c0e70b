/**
 * A worker thread of `runLoopChannelsTwoThreads`: the payee of the loop channels, a party of its
 * own (SQLite file, sandbox, key) that talks to the payer on the main thread through the port.
 * It counts its store's commits and the writes in them into the shared `counts` (syncs, writes).
 *
 * Frames from the main thread: `open` (opens every channel, answers `opened`), `close` (closes
 * the party and its store, answers `closed`). It posts `ready` once its party listens, and
 * `error` with a message when an open, a close or the handling of a peer message fails.
 */
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { testAddresses } from '../test/support/channel.ts'
import { loopChannel, loopParty } from './loopChannel.ts'
import { createPortTransport } from './portTransport.ts'

/** What the main thread hands the payee's thread. */
export type PayeeThreadData = { dir: string; nonces: string[]; counts: SharedArrayBuffer }

const port = parentPort
if (port !== null) {
  const data = workerData as PayeeThreadData
  const counts = new Int32Array(data.counts)
  const chs = await Promise.all(data.nonces.map((n) => loopChannel(BigInt(n))))
  const store = createSqliteStore({
    path: join(data.dir, 'p1.db'),
    exclusive: true,
    onCommit: (n) => {
      Atomics.add(counts, 0, 1)
      Atomics.add(counts, 1, n)
    },
  })
  const payee = await loopParty(1, {
    transport: createPortTransport(testAddresses[1]!, port, (e) =>
      port.postMessage({ kind: 'error', message: String(e) }),
    ),
    store,
    code: chs[0]!.code,
  })
  port.on('message', (frame: { kind: string }) => {
    if (frame.kind === 'open') {
      void Promise.all(chs.map(({ ch }) => payee.open(ch.params, ch.initial))).then(
        () => port.postMessage({ kind: 'opened' }),
        (e: unknown) => port.postMessage({ kind: 'error', message: String(e) }),
      )
    } else if (frame.kind === 'close') {
      void payee
        .close()
        .then(() => store.close())
        .then(
          () => port.postMessage({ kind: 'closed' }),
          (e: unknown) => port.postMessage({ kind: 'error', message: String(e) }),
        )
    }
  })
  port.postMessage({ kind: 'ready' })
}
