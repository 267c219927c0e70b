import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', `oracles/sim/${script}`, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })

describe('simulators: command line', () => {
  it('--help prints the usage and exits 0', () => {
    const r = run('device.ts', ['--help'])
    assert.equal(r.status, 0)
    assert.match(r.stdout, /^usage: npx tsx oracles\/sim\/device\.ts/)
  })

  it('an unknown option or a bad number is a one-line reason and exit 2, not a stack trace', () => {
    const bogus = run('device.ts', ['--bogus'])
    assert.equal(bogus.status, 2)
    assert.match(bogus.stderr, /^device: Unknown option '--bogus'/)
    assert.doesNotMatch(bogus.stderr, /at parseArgs/)
    const bad = run('oracle.ts', ['--tracking', 'T-1', '--chain-id', 'abc'])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /oracle: --chain-id must be a whole number, got "abc"/)
  })
})
