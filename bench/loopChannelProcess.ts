/**
 * Child process of `benchProtocolAllCores`: runs one channel of the loop app (both parties) and
 * prints `{"stepsPerSec": n}` on stdout. Arguments: steps, nonce.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoopChannel } from './protocol.ts'

const steps = Number(process.argv[2] ?? '1000')
const nonce = BigInt(process.argv[3] ?? '1')
const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-child-'))
try {
  // Every core runs a process of its own here: no crypto thread beside it.
  const { stepsPerSec } = await runLoopChannel({ dir, steps, nonce, cryptoThreads: 0 })
  process.stdout.write(`${JSON.stringify({ stepsPerSec })}\n`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
