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
async function readIds(url: string, done: (ids: number[]) => boolean): Promise<number[]> {
  const abort = new AbortController()
  const ids: number[] = []
  const res = await fetch(url, { signal: abort.signal })
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
