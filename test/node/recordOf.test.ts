import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { createNodeQueries, type NodeQueriesContext } from '../../node/nodeQueries.ts'
import { escrowChannel } from '../support/channel.ts'

describe('node queries: a channel record', () => {
  let dir: string
  let store: ChannelStore
  let reads: Hex[]
  let recordOf: (channelId: Hex) => Promise<unknown>
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-record-of-'))
    const sqlite = createSqliteStore({ path: join(dir, 'node.db') })
    reads = []
    store = {
      ...sqlite,
      getChannel: (id) => {
        reads.push(id)
        return sqlite.getChannel(id)
      },
    }
    // recordOf needs nothing of the node but its store.
    recordOf = createNodeQueries({ store } as unknown as NodeQueriesContext).recordOf
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is read from the store once: every step of the channel after the first reads no row', async () => {
    const { params, channelId } = escrowChannel()
    await store.putChannel({ channelId, params, myIndex: 1 })
    const first = await recordOf(channelId)
    assert.deepEqual(first, { channelId, params, myIndex: 1 })
    assert.deepEqual(await recordOf(channelId), first)
    assert.deepEqual(await recordOf(channelId.toUpperCase().replace('0X', '0x') as Hex), first)
    assert.deepEqual(reads, [channelId])
  })

  it('a channel the store does not hold is CHANNEL_NOT_FOUND each time, and found once stored', async () => {
    const { params, channelId } = escrowChannel({ nonce: 7n })
    for (let i = 0; i < 2; i++)
      await assert.rejects(
        recordOf(channelId),
        (e: Error & { code?: string }) => e.code === 'CHANNEL_NOT_FOUND',
      )
    await store.putChannel({ channelId, params, myIndex: 0 })
    assert.deepEqual(await recordOf(channelId), { channelId, params, myIndex: 0 })
    assert.equal(reads.length, 3)
  })

  it('a malformed id is INVALID_ARGUMENT and reads nothing', async () => {
    await assert.rejects(
      recordOf('0x12' as Hex),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT',
    )
    assert.deepEqual(reads, [])
  })
})
