// Server-sent events: the node's events as they happen, one JSON object per `data:` line.
import type { ServerResponse } from 'node:http'
import type { Hex } from 'viem'
import type { ChanvmNode, NodeEvent } from '../types.ts'
import { nodeEventJson } from './wire.ts'

/** What a turn's events may add up to before they are written without waiting for the turn's end. */
const FLUSH_AT = 64 * 1024

export type EventStreamOptions = {
  /** Only the events of this channel. */
  channelId?: Hex
  /** A comment line this often keeps proxies from closing an idle stream (default 15,000 ms). */
  heartbeatMs?: number
  /** A client that lets this much pile up unread is dropped (default 1 MiB). */
  maxBufferedBytes?: number
  /**
   * The id of the last event the client saw (its `Last-Event-ID` header): the held events after
   * it are sent first, or a `gap` event when the node no longer holds them all.
   */
  lastEventId?: number
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
 * function is called. The events of one turn of the event loop go out in one write, at its end. Ids are the node's own, monotonic across restarts. With `lastEventId`, the
 * held events after it come first; when the node cannot replay exactly (the id is older than
 * what it holds, e.g. from before a restart, or newer than any it issued) a `gap` event
 * (`{ requested, oldest, latest }`, no id) comes first, then every event held.
 */
export function openEventStream(
  res: ServerResponse,
  node: Pick<ChanvmNode, 'onEvent' | 'eventsSince'>,
  options: EventStreamOptions = {},
): () => void {
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const maxBuffered = options.maxBufferedBytes ?? 1 << 20
  // Below the limit, so that only what the socket has not taken yet can exceed it.
  const flushAt = Math.min(FLUSH_AT, Math.floor(maxBuffered / 2))
  const wanted = options.channelId?.toLowerCase()
  /** The last id handed to this client (sent or filtered out). */
  let sent = 0
  let closed = false
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  res.write(': chanvm events\nretry: 3000\n\n')
  // Events are written once per turn of the event loop, all those of the turn together: a socket
  // write costs far more than the bytes it carries, and many channels' steps end in the same turn.
  let pending = ''
  let flushing: NodeJS.Immediate | undefined
  const flush = (): void => {
    flushing = undefined
    if (closed || pending === '') return
    const chunk = pending
    pending = ''
    res.write(chunk)
  }
  const send = (chunk: string): void => {
    if (closed) return
    if (res.writableLength + pending.length > maxBuffered) {
      pending = ''
      close()
      res.destroy()
      return
    }
    pending += chunk
    // A replay hands over up to a thousand events in one turn: it goes out in pieces as it grows.
    if (pending.length >= flushAt) flush()
    else flushing ??= setImmediate(flush)
  }
  const deliver = (e: NodeEvent, id: number): void => {
    if (id > 0) {
      if (id <= sent) return
      sent = id
    }
    if (wanted !== undefined && nodeEventChannel(e)?.toLowerCase() !== wanted) return
    send(`${id > 0 ? `id: ${id}\n` : ''}event: ${e.source}\ndata: ${nodeEventJson(e)}\n\n`)
  }
  // Started before the replay, so that a replay that overflows the limit can stop it.
  const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs)
  heartbeat.unref()
  // Subscribed and replayed in one turn of the event loop: no event falls between the two.
  const unsubscribe = node.onEvent(deliver)
  if (options.lastEventId !== undefined && node.eventsSince !== undefined) {
    const replay = node.eventsSince(options.lastEventId)
    if (replay.gap) {
      const { requested, oldest, latest } = replay
      send(`event: gap\ndata: ${JSON.stringify({ requested, oldest, latest })}\n\n`)
    }
    for (const h of replay.events) deliver(h.event, h.id)
  }
  if (closed) return close // the replay overflowed: the stream has ended
  function close(): void {
    if (closed) return
    if (flushing !== undefined) clearImmediate(flushing)
    // What this turn sent still goes out before the end (a client that went away takes nothing).
    if (pending !== '' && !res.destroyed && !res.writableEnded) res.write(pending)
    pending = ''
    closed = true
    clearInterval(heartbeat)
    unsubscribe()
    if (!res.writableEnded) res.end()
  }
  res.on('close', close)
  return close
}
