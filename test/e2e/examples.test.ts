import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { runNode } from '../support/runNode.ts'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runDemo } from '../../cli/demo/runDemo.ts'
import { METERED_DEMO } from '../../examples/metered/runMeteredDemo.ts'

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

  describe('examples/metered: chanvm demo metered, a user app run like the built-in deals', function () {
    // It compiles Metered.sol first, and starts two node processes.
    this.timeout(240_000)
    const M = METERED_DEMO
    const paid = M.cap // 60 s at 0.01 ETH per second is above the 0.5 ETH cap
    const refund = M.deposit - paid

    it('from a checkout without the compiled artifact: builds it, the consumer pays per reading up to the cap, the unused deposit is refunded', async () => {
      const out = join(root, 'examples', 'metered', 'out')
      rmSync(out, { recursive: true, force: true })
      const r = await runNode([join(root, 'cli', 'bin.mjs'), 'demo', 'metered', '--json'], {
        cwd: dirname(root),
        timeoutMs: 170_000,
      })
      assert.equal(r.code, 0, r.stderr)
      assert.ok(existsSync(join(out, 'Metered.json')), 'the demo compiled Metered.sol')
      const lines = r.stdout
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as { type: string; kind?: string; text?: string; data?: Record<string, unknown> },
        )
      const summary = lines[lines.length - 1] as unknown as {
        type: string
        ok: boolean
        deal: string
        path: string
        outcome: string
        payouts: { role: string; withdrawn: string }[]
        forcedSteps: number
        coSignedStates: number
        gas: { transactions: { action: string; by: string }[] }
      }
      assert.equal(summary.type, 'summary')
      assert.deepEqual(
        [summary.ok, summary.deal, summary.path, summary.outcome, summary.forcedSteps],
        [true, 'metered', 'cooperative', 'paid-per-unit', 0],
      )
      assert.deepEqual(
        summary.payouts.map((p) => [p.role, p.withdrawn]),
        [
          ['consumer', refund.toString()],
          ['provider', paid.toString()],
        ],
      )
      // One payment per reading as it arrived, the last one only up to the cap, then the close.
      const events = lines.filter((l) => l.type === 'event')
      assert.equal(events.filter((e) => e.kind === 'reading-published').length, M.usage.length)
      const coSigned = events.filter((e) => e.kind === 'co-signed')
      assert.deepEqual(
        coSigned.map((e) => [e.data?.['balance.consumer'], e.data?.['balance.provider']]),
        [
          ['650000000000000000', '150000000000000000'],
          ['500000000000000000', '300000000000000000'],
          ['350000000000000000', '450000000000000000'],
          ['300000000000000000', '500000000000000000'],
          ['300000000000000000', '500000000000000000'],
        ],
      )
      assert.equal(coSigned[coSigned.length - 1]?.data?.['isFinal'], true)
      assert.equal(summary.coSignedStates, 1 + M.usage.length + 1)
      assert.deepEqual(
        summary.gas.transactions.map((t) => [t.action, t.by]),
        [
          ['deposit', 'consumer'],
          ['concludeFinal', 'provider'],
          ['withdraw', 'consumer'],
          ['withdraw', 'provider'],
        ],
      )
    })

    it("--refuse: the consumer stops paying, the provider forces the payment on chain with the meter's signed readings", async () => {
      const s = await runDemo('metered', { refuse: true, partyProcesses: false })
      assert.deepEqual([s.ok, s.path, s.outcome, s.forcedSteps], [true, 'forced', 'paid-per-unit', 1])
      assert.deepEqual(
        s.payouts.map((p) => [p.role, p.withdrawn]),
        [
          ['consumer', refund],
          ['provider', paid],
        ],
      )
      // Two payments co-signed, then the consumer's node refuses the provider's and it goes to chain.
      assert.equal(s.coSignedStates, 1 + M.paidBeforeRefusal)
      assert.ok(s.steps.some((e) => e.kind === 'refused' && e.actor === 'consumer'))
      const forced = s.steps.find((e) => e.kind === 'force-progress')
      assert.equal(forced?.actor, 'provider')
      assert.equal(forced?.data?.['version'], String(1 + M.paidBeforeRefusal))
      assert.match(forced?.text ?? '', /meter's 2 signed readings/)
      assert.match(forced?.text ?? '', /\[consumer 0\.3 ETH, provider 0\.5 ETH\]/)
      assert.deepEqual(
        s.gas.transactions.map((t) => [t.action, t.by]),
        [
          ['deposit', 'consumer'],
          ['forceProgress', 'provider'],
          ['conclude', 'provider'],
          ['withdraw', 'consumer'],
          ['withdraw', 'provider'],
        ],
      )
    })

    it('nothing outside examples/metered names the deal: the command line finds its demo beside its manifest', () => {
      const code = (f: string) =>
        readFileSync(f, 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
      const files = (dir: string): string[] =>
        readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
          e.isDirectory()
            ? files(join(dir, e.name))
            : /\.(ts|mjs|js)$/.test(e.name)
              ? [join(dir, e.name)]
              : [],
        )
      const naming = ['apps', 'cli', 'node', 'engine', 'oracles', 'bench']
        .flatMap(files)
        .filter((f) => /metered/i.test(code(join(root, f))))
      assert.deepEqual(naming, [])
    })
  })
})
