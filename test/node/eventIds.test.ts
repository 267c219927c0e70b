// Event ids across a restart of a real node (anvil, aedes, SQLite in its data folder): ids after
// the restart exceed every id before it, a client that sends Last-Event-ID gets exactly the events
// after it, and one whose id is from before the restart (or was never issued) gets a gap event.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { startApiNodes, type ApiNodes } from '../support/apiNodes.ts'
import { EVENT_IDS_FILE } from '../../node/openEventLog.ts'
import type { OpenRequest } from '../../node/types.ts'

const TOKEN = 'event-ids-token-0123456789abcdef'

type SseMessage = { id?: number; event: string; data: string }

/**
 * Opens `/v1/events` (with `Last-Event-ID` when given) and reads messages until `enough` says so,
 * failing after 30 s.
 */
async function readEvents(
  url: string,
  lastEventId: number | undefined,
  enough: (messages: SseMessage[]) => boolean,
): Promise<SseMessage[]> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), 30_000)
  const messages: SseMessage[] = []
  try {
    const res = await fetch(`${url}/v1/events`, {
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }),
      },
      signal: abort.signal,
    })
    assert.equal(res.status, 200)
    assert.ok(res.body !== null)
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const m: SseMessage = { event: 'message', data: '' }
        let field = false
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || line.startsWith('retry:')) continue
          field = true
          if (line.startsWith('id: ')) m.id = Number(line.slice(4))
          else if (line.startsWith('event: ')) m.event = line.slice(7)
          else if (line.startsWith('data: ')) m.data = line.slice(6)
        }
        if (field) messages.push(m)
      }
      if (enough(messages)) break
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
  assert.ok(enough(messages), `only ${messages.length} events arrived: ${JSON.stringify(messages)}`)
  return messages
}

describe('event ids across a node restart', function () {
  this.timeout(180_000)
  let nodes: ApiNodes

  before(async () => {
    nodes = await startApiNodes(TOKEN, 'event-ids')
  })
  after(async () => {
    await nodes?.stop()
  })

  /** Opens a channel between alice and bob (a handful of events on each node). */
  const openChannel = async (nonce: bigint) => {
    const request = (role: 'first' | 'second'): OpenRequest => ({
      app: 'escrow',
      counterparty: role === 'first' ? nodes.f.bob.address : nodes.f.alice.address,
      role,
      balances: [10n ** 17n, 0n],
      nonce,
      challengeDuration: 3_600n,
      terms: { arbiter: nodes.f.arbiter.address },
    })
    await Promise.all([nodes.alice.node.open(request('first')), nodes.bob.node.open(request('second'))])
  }

  it('ids grow across the restart; Last-Event-ID replays exactly what follows; an id from before the restart is a gap', async () => {
    const before: number[] = []
    nodes.alice.node.onEvent((_e, id) => before.push(id))
    await openChannel(BigInt(Date.now()))
    assert.ok(before.length >= 2, `alice emitted ${before.length} events`)
    for (let i = 1; i < before.length; i++)
      assert.ok(before[i]! > before[i - 1]!, `ids grow: ${before.join(',')}`)

    // A client that saw the first of them gets exactly the rest back.
    const firstBefore = before[0]!
    const expected = before.slice(1)
    const replayed = await readEvents(nodes.alice.url, firstBefore, (ms) => ms.length >= expected.length)
    assert.deepEqual(
      replayed.slice(0, expected.length).map((m) => m.id),
      expected,
    )
    const lastBefore = Math.max(...before)

    const reservedBefore = Number(readFileSync(`${nodes.dataDir('alice')}/${EVENT_IDS_FILE}`, 'utf8'))
    assert.ok(reservedBefore > lastBefore, 'the block in use was reserved on disk before its ids were used')

    await nodes.restart('alice')
    const after: number[] = []
    nodes.alice.node.onEvent((_e, id) => after.push(id))
    await openChannel(BigInt(Date.now()) + 1n)
    assert.ok(after.length >= 2, `alice emitted ${after.length} events after the restart`)
    assert.ok(Math.min(...after) > lastBefore, `after ${after.join(',')} vs before ${before.join(',')}`)

    // Exactly the events after the one named, none twice, none missing.
    const expectedAfter = after.slice(1)
    const again = await readEvents(nodes.alice.url, after[0], (ms) => ms.length >= expectedAfter.length)
    assert.deepEqual(
      again.slice(0, expectedAfter.length).map((m) => m.id),
      expectedAfter,
    )
    assert.ok(again.every((m) => m.event !== 'gap'))

    // An id from before the restart: the node no longer holds what followed it.
    const stale = await readEvents(nodes.alice.url, firstBefore, (ms) => ms.length >= 1)
    assert.equal(stale[0]?.event, 'gap')
    const gap = JSON.parse(stale[0]!.data) as { requested: number; oldest: number; latest: number }
    assert.equal(gap.requested, firstBefore)
    assert.ok(gap.oldest > lastBefore)
    assert.ok(gap.latest >= Math.max(...after))
    assert.equal(stale[0]?.id, undefined, 'the gap event carries no id')

    // An id the node never issued is a gap too.
    const future = await readEvents(nodes.alice.url, Math.max(...after) + 10_000, (ms) => ms.length >= 1)
    assert.equal(future[0]?.event, 'gap')
  })
})
