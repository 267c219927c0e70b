import assert from 'node:assert/strict'
import { runNode } from '../support/runNode.ts'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Runs an example script the way its README says (tsx), from the repository root. */
const runExample = (script: string, args: string[] = []) =>
  runNode(['--import', 'tsx', join(root, script), ...args], { cwd: root })

describe('examples/ run as documented', function () {
  this.timeout(360_000) // a bound for a hang: the commands wait on a chain and a broker

  it('examples/escrow/run.ts', async () => {
    const r = await runExample('examples/escrow/run.ts')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /version 3 co-signed, balances 0\.6 \/ 0\.4 ETH/)
    assert.match(r.stdout, /^payer withdrew 0\.6 ETH$/m)
    assert.match(r.stdout, /^payee withdrew 0\.4 ETH$/m)
  })

  it('examples/tv-delivery/run.ts --answers 1', async () => {
    const r = await runExample('examples/tv-delivery/run.ts', ['--answers', '1'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /buyer withdrew 1 ETH/)
    assert.match(r.stdout, /seller withdrew 0 ETH/)
  })

  it('examples/cold-chain/run.ts --refuse', async () => {
    const r = await runExample('examples/cold-chain/run.ts', ['--refuse'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /owner withdrew 1\.03 ETH/)
    assert.match(r.stdout, /outcome owner-insured \(forced\)/)
  })
})
