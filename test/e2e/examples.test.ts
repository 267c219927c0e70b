import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Runs an example script the way its README says (tsx), from the repository root. */
function runExample(script: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('examples/ run as documented', function () {
  this.timeout(120_000)

  it('examples/escrow/run.ts', async () => {
    const r = await runExample('examples/escrow/run.ts')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /payer withdrew 0\.6 ETH, payee withdrew 0\.4 ETH/)
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
