import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { guardStore } from '../../engine/protocol/guardStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../../engine/store/types.ts'

const channelId = `0x${'ab'.repeat(32)}` as Hex

describe('protocol: the guarded store', () => {
  let dir: string
  let store: ChannelStore
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'guard-'))
    store = createSqliteStore({ path: join(dir, 'p.db') })
  })
  afterEach(async () => {
    await store.close().catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers as the store does', async () => {
    const guarded = guardStore(store)
    assert.equal(await guarded.getFunding(channelId), undefined)
    await guarded.putFunding(channelId, [1n, 2n])
    assert.deepEqual(await guarded.getFunding(channelId), [1n, 2n])
  })

  it('a store that throws at once or rejects: a STORE_ERROR naming the call, a rejection either way', async () => {
    const guarded = guardStore(store)
    store.getFunding = () => {
      throw new Error('disk on fire')
    }
    let threw = false
    let p: Promise<unknown>
    try {
      p = guarded.getFunding(channelId)
    } catch {
      threw = true
      p = Promise.resolve()
    }
    assert.equal(threw, false, 'a store that throws at once is a rejected promise, not a throw')
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ChanvmError)
      assert.equal(e.code, 'STORE_ERROR')
      assert.match(e.message, /store: getFunding failed: disk on fire/)
      return true
    })
    store.isDisputed = () => Promise.reject(Object.assign(new Error('no space'), { code: 'SQLITE_FULL' }))
    await assert.rejects(guarded.isDisputed(channelId), /store: isDisputed failed: SQLITE_FULL: no space/)
    const own = new ChanvmError('STORE_ERROR', 'store: sync failed')
    store.whenDurable = () => Promise.reject(own)
    await assert.rejects(guarded.whenDurable(), (e: unknown) => e === own)
  })
})
