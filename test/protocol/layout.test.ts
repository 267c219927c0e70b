import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = join(import.meta.dirname, '../../engine/protocol')
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
/** The code of a file without its comments. */
const codeOf = (f: string) =>
  readFileSync(join(dir, f), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')

/** The protocol's shape, as docs/protocol.md ("Shape of a party") states it. */
describe('engine/protocol: a core a reader can follow', () => {
  it('no file is above about 300 lines', () => {
    for (const f of files) {
      const lines = readFileSync(join(dir, f), 'utf8').split('\n').length
      assert.ok(lines <= 310, `${f} has ${lines} lines`)
    }
  })

  it('only the executor calls the signer, the store and the transport', () => {
    const io = /\b(signer\.signDigest|store\.\w+\(|transport\.(send|onMessage)\()/
    const callers = files.filter((f) => io.test(codeOf(f)))
    assert.deepEqual(
      callers.sort(),
      ['createExecutor.ts'],
      'the executor alone (guardStore wraps the store by name)',
    )
  })

  it('one handler per message, each in its own file, picked by one switch', () => {
    const dispatcher = codeOf('createDispatcher.ts')
    for (const t of ['open', 'propose', 'accept', 'reject', 'commit', 'sync']) {
      const handler = `on${t[0]!.toUpperCase()}${t.slice(1)}`
      assert.ok(files.includes(`${handler}.ts`), `${handler}.ts exists`)
      assert.match(
        dispatcher,
        new RegExp(`case '${t}':\\s*return ${handler}\\(`),
        `dispatch sends '${t}' to ${handler}`,
      )
    }
  })
})
