import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createSqliteStore } from '../../engine/store/createSqliteStore.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { ChannelStore } from '../../engine/store/types.ts'
import { channelStoreConformance } from './conformance.ts'
import { escrowChannel } from '../support/channel.ts'

const dir = mkdtempSync(join(tmpdir(), 'chanvm-store-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const paths = new WeakMap<ChannelStore, string>()

channelStoreConformance('memory', async () => createMemoryStore())
channelStoreConformance(
  'sqlite',
  async () => {
    const path = join(dir, `s${n++}.db`)
    const s = createSqliteStore({ path })
    paths.set(s, path)
    return s
  },
  async (s) => {
    const path = paths.get(s) as string
    await s.close()
    return createSqliteStore({ path })
  },
)

describe('sqlite store', () => {
  it('two connections to one file cannot record different digests for one version', async () => {
    const path = join(dir, 'shared.db')
    const a = createSqliteStore({ path })
    const b = createSqliteStore({ path })
    const { channelId, initial } = escrowChannel()
    const ra = await a.recordSignature({ channelId, version: 3n, digest: `0x${'01'.repeat(32)}` as Hex, state: initial })
    const rb = await b.recordSignature({ channelId, version: 3n, digest: `0x${'02'.repeat(32)}` as Hex, state: initial })
    assert.equal(ra.ok, true)
    assert.equal(rb.ok, false)
    await a.close()
    await b.close()
  })

  it('a path that cannot be opened is a typed STORE_ERROR', () => {
    const file = join(dir, 'not-a-folder')
    writeFileSync(file, 'x')
    assert.throws(
      () => createSqliteStore({ path: join(file, 'nope.db') }),
      (e: unknown) => e instanceof ChanvmError && e.code === 'STORE_ERROR',
    )
  })
})
