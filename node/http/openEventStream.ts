// Server-sent events: the node's events as they happen, one JSON object per `data:` line.
import type { ServerResponse } from 'node:http'
import type { Hex } from 'viem'
import type { ChanvmNode, NodeEvent } from '../types.ts'
import { toWireJson } from './wire.ts'

export type EventStreamOptions = {
  /** Only the events of this channel. */
  channelId?: Hex
  /** A comment line this often keeps proxies from closing an idle stream (default 15,000 ms). */
  heartbeatMs?: number
  /** A client that lets this much pile up unread is dropped (default 1 MiB). */
  maxBufferedBytes?: number
}

/** The channel an event is about, if any. */
export function nodeEventChannel(e: NodeEvent): Hex | undefined {
  if ('channelId' in e && e.channelId !== undefined) return e.channelId
  if (e.source === 'party' || e.source === 'watcher') {
    const inner = e.event as { channelId?: Hex }
    return inner.channelId
  }
  return undefined
}

/**
 * Writes the SSE headers on `res` and then every event of `node` (`event: <source>`, `id: <n>`,
 * `data: <json>` with bigints as decimal strings) until the client goes away or the returned
 * function is called.
 */
export function openEventStream(
  res: ServerResponse,
  node: Pick<ChanvmNode, 'onEvent'>,
  options: EventStreamOptions = {},
): () => void {
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxBuffered = options.maxBufferedBytes ?? 1 << 20
  const wanted = options.channelId?.toLowerCase()
  let id = 0
  let closed = false
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  res.write(': chanvm events\nretry: 3000\n\n')
  const send = (chunk: string): void => {
    if (closed) return
    if (res.writableLength > maxBuffered) {
      close()
      res.destroy()
      return
    }
    res.write(chunk)
  }
  const unsubscribe = node.onEvent((e) => {
    if (wanted !== undefined && nodeEventChannel(e)?.toLowerCase() !== wanted) return
    id++
    send(`id: ${id}\nevent: ${e.source}\ndata: ${toWireJson(e)}\n\n`)
  })
  const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs)
  heartbeat.unref()
  function close(): void {
    if (closed) return
    closed = true
    clearInterval(heartbeat)
    unsubscribe()
    if (!res.writableEnded) res.end()
  }
  res.on('close', close)
  return close
}
