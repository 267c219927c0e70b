import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { readWatcherCheckpoint, writeWatcherCheckpoint } from '../../node/watcherCheckpointFile.ts'

const scope = { chainId: 31337, adjudicator: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const

describe('watcher checkpoint file', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-checkpoint-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('any checkpoint reads back as written, and no temporary file is left (property)', () => {
    const path = join(dir, 'cp.json')
    fc.assert(
      fc.property(
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n }), { nil: undefined }),
        fc.array(
          fc.record({
            number: fc.bigInt({ min: 0n, max: 2n ** 64n }),
            hash: fc
              .uint8Array({ minLength: 32, maxLength: 32 })
              .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex),
          }),
          { maxLength: 64 },
        ),
        (cursor, records) => {
          const blocks = records.map((b) => ({ number: b.number, hash: b.hash }))
          writeWatcherCheckpoint(path, { cursor, blocks }, scope)
          assert.deepEqual(readWatcherCheckpoint(path, scope), { cursor, blocks })
        },
      ),
      { numRuns: 100 },
    )
    assert.deepEqual(readdirSync(dir), ['cp.json'])
  })

  it('no file: undefined', () => {
    assert.equal(readWatcherCheckpoint(join(dir, 'none.json'), scope), undefined)
  })

  it('a checkpoint of another chain or Adjudicator is not resumed, and the reason is told', () => {
    const path = join(dir, 'other.json')
    writeWatcherCheckpoint(path, { cursor: 9n, blocks: [] }, scope)
    const why: string[] = []
    assert.equal(
      readWatcherCheckpoint(path, { ...scope, chainId: 1 }, (w) => why.push(w)),
      undefined,
    )
    assert.equal(
      readWatcherCheckpoint(path, { ...scope, adjudicator: `0x${'11'.repeat(20)}` }, (w) => why.push(w)),
      undefined,
    )
    assert.equal(why.length, 2)
    assert.match(why[0] ?? '', /chain 31337/)
    assert.deepEqual(
      readWatcherCheckpoint(path, { ...scope, adjudicator: scope.adjudicator.toLowerCase() as Hex }),
      {
        cursor: 9n,
        blocks: [],
      },
    )
  })

  it('a file that cannot be read as a checkpoint is a CONFIG error naming it', () => {
    for (const body of ['{', '{"version":2}', '{"version":1,"chainId":31337,"blocks":[{"number":"x"}]}']) {
      const path = join(dir, 'broken.json')
      writeFileSync(path, body)
      assert.throws(
        () => readWatcherCheckpoint(path, scope),
        (e: unknown) => e instanceof ChanvmError && e.code === 'CONFIG' && e.message.includes('broken.json'),
      )
    }
  })
})
