import assert from 'node:assert/strict'
import { runNode } from '../support/runNode.ts'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXIT, runCli } from '../../cli/runCli.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = join(root, 'cli', 'bin.mjs')

/** Runs the real `chanvm` bin as a child process from a directory outside the checkout. */
const chanvm = (args: string[]) => runNode([bin, ...args], { cwd: dirname(root) })

describe('e2e: the chanvm command', function () {
  this.timeout(360_000) // a bound for a hang: the commands wait on a chain and a broker

  it('`node cli/bin.mjs demo escrow --json` exits 0 and ends with the summary line', async () => {
    const r = await chanvm(['demo', 'escrow', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.ok(lines.length > 5)
    assert.ok(lines.slice(0, -1).every((l) => l['type'] === 'event' && typeof l['text'] === 'string'))
    const summary = lines[lines.length - 1] as {
      type: string
      ok: boolean
      outcome: string
      payouts: { role: string; withdrawn: string }[]
      gas: { total: string }
    }
    assert.equal(summary.type, 'summary')
    assert.equal(summary.ok, true)
    assert.equal(summary.outcome, 'payee-paid')
    assert.deepEqual(
      summary.payouts.map((p) => [p.role, p.withdrawn]),
      [
        ['payer', '600000000000000000'],
        ['payee', '400000000000000000'],
      ],
    )
    assert.ok(BigInt(summary.gas.total) > 0n)
  })

  it('usage errors exit 2 with a message; --help exits 0', async () => {
    const out: string[] = []
    const err: string[] = []
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }
    assert.equal(await runCli(['--help'], io), EXIT.OK)
    assert.match(out.join('\n'), /Usage: chanvm demo <deal>/)
    // The help lists every app's demo, and a deal's own flag under its name.
    for (const deal of ['escrow', 'tv-delivery', 'cold-chain', 'metered'])
      assert.match(out.join('\n'), new RegExp(`^  ${deal} +\\S`, 'm'))
    assert.match(out.join('\n'), /^  --answers <n> +tv-delivery: /m)
    assert.equal(await runCli(['demo', 'pizza'], io), EXIT.USAGE)
    assert.match(
      err.pop() ?? '',
      /^chanvm: unknown deal 'pizza'; the demos are: cold-chain, escrow, tv-delivery, metered$/,
    )
    assert.equal(await runCli(['demo'], io), EXIT.USAGE)
    assert.match(err.pop() ?? '', /^chanvm: demo needs one deal: cold-chain, escrow, tv-delivery, metered$/)
    assert.equal(await runCli(['demo', 'escrow', '--bogus'], io), EXIT.USAGE)
    assert.equal(await runCli(['demo', 'escrow', '--rpc-url', 'ftp://x'], io), EXIT.USAGE)
    assert.equal(await runCli(['demo', 'escrow', '--answers', '1'], io), EXIT.USAGE)
    assert.equal(err.pop(), 'chanvm: --answers applies to tv-delivery only, not to escrow')
    assert.equal(await runCli(['demo', 'tv-delivery', '--answers', '4'], io), EXIT.USAGE)
    assert.equal(err.pop(), 'chanvm: --answers takes 0 to 3')
    assert.equal(await runCli([], io), EXIT.USAGE)
    const bad = await chanvm(['launch'])
    assert.equal(bad.code, EXIT.USAGE)
    assert.match(bad.stderr, /unknown command 'launch'/)
  })

  it('an unreachable chain is a failure (exit 3), not a hang', async () => {
    const err: string[] = []
    const code = await runCli(['demo', 'escrow', '--rpc-url', 'http://127.0.0.1:9', '--json'], {
      out: (l) => err.push(l),
      err: (l) => err.push(l),
    })
    assert.equal(code, EXIT.FAILED)
    const last = JSON.parse(err[err.length - 1] ?? '{}') as { type: string; code: string }
    assert.deepEqual([last.type, last.code], ['error', 'CHAIN_ERROR'])
  })
})
