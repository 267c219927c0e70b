import type { Address, Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'

/** What the demo reads of a node's events (GET /v1/events), amounts already bigints. */
export type DemoNodeEvent =
  | { source: 'chain'; channelId: Hex; step: string; gasUsed: bigint; hash: Hex }
  | { source: 'input'; verdict: string; signer?: Hex; topic?: string }
  | { source: 'refused'; channelId: Hex; version: bigint; from: Address; reason: string; message: string }

const isUint = (v: unknown): v is string => typeof v === 'string' && /^\d{1,78}$/.test(v)

/** One `data:` line of the stream as the demo reads it; other events are left out. */
export function wireToDemoNodeEvent(data: unknown): DemoNodeEvent | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const e = data as Record<string, unknown>
  if (e['source'] === 'chain' && isUint(e['gasUsed']) && typeof e['step'] === 'string')
    return {
      source: 'chain',
      channelId: e['channelId'] as Hex,
      step: e['step'],
      gasUsed: BigInt(e['gasUsed']),
      hash: e['hash'] as Hex,
    }
  if (e['source'] === 'input' && typeof e['verdict'] === 'string')
    return {
      source: 'input',
      verdict: e['verdict'],
      ...(typeof e['signer'] === 'string' ? { signer: e['signer'] as Hex } : {}),
      ...(typeof e['topic'] === 'string' ? { topic: e['topic'] } : {}),
    }
  const inner = e['event'] as Record<string, unknown> | undefined
  if (e['source'] === 'party' && inner?.['type'] === 'refused' && isUint(inner['version']))
    return {
      source: 'refused',
      channelId: inner['channelId'] as Hex,
      version: BigInt(inner['version']),
      from: inner['from'] as Address,
      reason: String(inner['reason']),
      message: String(inner['message']),
    }
  return undefined
}

/**
 * Follows a node's event stream (`GET /v1/events`, server-sent events) and hands each event the
 * demo reads to `onEvent`. Resolves once the stream is open; `close` ends it.
 *
 * @example
 * ```ts
 * const events = await readNodeEvents('http://127.0.0.1:7311', (e) => console.log(e.source))
 * await events.close()
 * ```
 */
export async function readNodeEvents(
  url: string,
  onEvent: (event: DemoNodeEvent) => void,
): Promise<{ close(): Promise<void> }> {
  const controller = new AbortController()
  const res = await fetch(`${url.replace(/\/+$/, '')}/v1/events`, {
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  })
  if (!res.ok || res.body === null)
    throw new ChanvmError('CONFIG', `the node at ${url} did not open its event stream (HTTP ${res.status})`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  const reading = (async () => {
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n')
        if (data === '') continue
        let event: DemoNodeEvent | undefined
        try {
          event = wireToDemoNodeEvent(JSON.parse(data))
        } catch {
          continue // not JSON: nothing the demo reads
        }
        if (event !== undefined) onEvent(event)
      }
    }
  })().catch(() => undefined)
  return {
    async close() {
      controller.abort()
      await reading
    },
  }
}
