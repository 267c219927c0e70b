// The declared engine and the dependency tree agree: every package the lock file installs admits
// the lowest Node version package.json declares, so `npm install` on that Node warns of nothing.
import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'

const root = join(import.meta.dirname, '..', '..')
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(root, file), 'utf8'))

type Lock = { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> }

describe('package engines', () => {
  it('every locked package admits the minimum of the declared Node range', () => {
    const pkg = readJson('package.json') as { engines?: { node?: string } }
    const declared = pkg.engines?.node
    assert.ok(declared !== undefined, 'package.json declares engines.node')
    const min = semver.minVersion(declared)
    assert.ok(min !== null, `engines.node ${declared} has a minimum`)
    const lock = readJson('package-lock.json') as Lock
    const refused: string[] = []
    let checked = 0
    for (const [path, entry] of Object.entries(lock.packages)) {
      const engines = entry.engines
      // A few old packages list engines as an array of strings; npm ignores those.
      const range = engines !== undefined && !Array.isArray(engines) ? engines.node : undefined
      if (range === undefined) continue
      checked++
      if (!semver.satisfies(min, range, { includePrerelease: true }))
        refused.push(`${path || '(root)'}@${entry.version ?? '?'} needs node ${range}`)
    }
    assert.ok(checked > 10, `the lock file names engines (${checked} checked)`)
    assert.deepEqual(refused, [], `packages that refuse node ${min.version}`)
  })
})
