// The event stream on a real HTTP server and client: the events of one turn of the event loop
// (emitted by separate callbacks of that turn, as many channels' steps end) reach the response in
// one write, in order, and closing the stream sends what was already queued.
import assert from 'node:assert/strict'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openEventStream } from '../../node/http/openEventStream.ts'
import type { NodeEvent } from '../../node/types.ts'

type Listener = (event: NodeEvent, id: number) => void

/** A node that only emits events: `emit` hands one to every listener with the next id. */
function eventSource() {
  const listeners = new Set<Listener>()
  let id = 0
  return {
    onEvent(listener: Listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit(n: number) {
      const event = { source: 'party', channelId: `0x${'ab'.repeat(32)}`, event: { type: 'committed', n } }
      id++
      for (const l of listeners) l(event as unknown as NodeEvent, id)
    },
  }
}

/** Serves one event stream over `node`, counting the writes on its response. */
async function serve(node: ReturnType<typeof eventSource>) {
  let writes = 0
  let close: (() => void) | undefined
  let response: ServerResponse | undefined
  const server: Server = createServer((_req, res) => {
    response = res
    const write = res.write.bind(res) as (chunk: string) => boolean
    res.write = ((chunk: string) => {
      writes++
      return write(chunk)
    }) as typeof res.write
    close = openEventStream(res, node)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return {
    url,
    writes: () => writes,
    close: () => close?.(),
    response: () => response,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Reads the stream's body until `done` says it has enough or the stream ends; returns the ids seen. */
async function readIds(
  url: string,
  done: (ids: number[]) => boolean,
  headers: Record<string, string> = {},
): Promise<number[]> {
  const abort = new AbortController()
  const ids: number[] = []
  const res = await fetch(url, { signal: abort.signal, headers })
  assert.equal(res.status, 200)
  let text = ''
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString('utf8')
      ids.length = 0
      for (const m of text.matchAll(/^id: (\d+)$/gm)) ids.push(Number(m[1]))
      if (done(ids)) break
    }
  } finally {
    abort.abort()
  }
  return ids
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('node event stream: writes', () => {
  it('the events of one turn of the event loop reach the response in one write, in order', async () => {
    const node = eventSource()
    const s = await serve(node)
    try {
      const reading = readIds(s.url, (ids) => ids.length >= 20)
      while (s.response() === undefined) await settle()
      await settle()
      const before = s.writes()
      // Ten callbacks of one turn, each emitting one event.
      const turn = async () => {
        for (let i = 0; i < 10; i++) setImmediate(() => node.emit(i))
        await settle()
        await settle()
        await settle()
      }
      await turn()
      assert.equal(s.writes() - before, 1, 'ten events of one turn, one write')
      await turn()
      assert.equal(s.writes() - before, 2)
      assert.deepEqual(
        await reading,
        Array.from({ length: 20 }, (_, i) => i + 1),
      )
    } finally {
      s.close()
      await s.stop()
    }
  })

  it('closing the stream in the turn its events were queued still sends them before the end', async () => {
    const node = eventSource()
    const s = await serve(node)
    try {
      const reading = readIds(s.url, () => false)
      while (s.response() === undefined) await settle()
      await settle()
      node.emit(1)
      node.emit(2)
      node.emit(3)
      s.close()
      assert.deepEqual(await reading, [1, 2, 3])
      assert.equal(s.response()?.writableEnded, true)
    } finally {
      await s.stop()
    }
  })
})

describe('node event stream: a replay larger than the buffer limit', () => {
  /** A node holding `n` past events of about `size` bytes each; `eventsSince(id)` replays those after `id`. */
  function history(n: number, size: number) {
    const listeners = new Set<Listener>()
    const events = Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      event: {
        source: 'party',
        channelId: `0x${'cd'.repeat(32)}`,
        event: { type: 'note', pad: 'x'.repeat(size) },
      },
    }))
    return {
      listeners,
      onEvent(listener: Listener) {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      },
      eventsSince: (id: number) => ({ gap: false, events: events.filter((e) => e.id > id) }),
    }
  }

  /**
   * Reads `node`'s replay as an EventSource does: each stream from the last id read (its
   * Last-Event-ID), again whenever one ends, until all `n` events arrived. Returns the ids in the
   * order read and the number of streams it took; fails if a stream neither delivers nor ends.
   */
  async function readReplay(node: ReturnType<typeof history>, n: number, maxBufferedBytes?: number) {
    const server = createServer((req, res) => {
      openEventStream(res, node as never, {
        lastEventId: Number(req.headers['last-event-id'] ?? 0),
        ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const read: number[] = []
    let streams = 0
    try {
      while (read.length < n && streams < 50) {
        streams++
        const last = read.at(-1) ?? 0
        const ids = await Promise.race([
          readIds(url, (got) => read.length + got.length >= n, { 'last-event-id': String(last) }),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error(`stream ${streams} neither delivered the replay nor ended`)),
              10_000,
            ),
          ),
        ])
        assert.ok(ids.length > 0, `stream ${streams} ended without an event`)
        read.push(...ids)
      }
      return { read, streams }
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  it('1,000 events of 1.5 KB (more than the 1 MiB limit at once) all reach a client that resumes from its last id, in order, once each', async () => {
    const node = history(1000, 1500)
    const { read } = await readReplay(node, 1000)
    assert.deepEqual(
      read,
      Array.from({ length: 1000 }, (_, i) => i + 1),
    )
  })

  it('a limit smaller than the replay of one turn still delivers it all, and no ended stream keeps listening', async () => {
    const node = history(300, 1500)
    const { read } = await readReplay(node, 300, 16_384)
    assert.deepEqual(
      read,
      Array.from({ length: 300 }, (_, i) => i + 1),
    )
    // The last stream ends when the client goes away; the server hears of it a moment later.
    for (let i = 0; i < 100 && node.listeners.size > 0; i++) await new Promise((r) => setTimeout(r, 20))
    assert.equal(node.listeners.size, 0, 'no ended stream still listens')
  })
})
