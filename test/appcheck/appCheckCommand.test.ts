// `chanvm app check ARTIFACT --manifest FILE` as an author runs it: a contract written only for
// the test, compiled to solc's standard JSON output, its manifest beside it; the metered example
// through its own build and manifest; and the errors for bad input.
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAppCheckCommand } from '../../cli/commands/appCheck.ts'
import { commandIoFromProcess } from '../../cli/commands/commandIo.ts'
import { buildMetered } from '../../examples/metered/buildMetered.ts'
import { compileFixture } from './compileFixture.ts'

const fixtures = join(import.meta.dirname, '../fixtures/appcheck')

async function appCheck(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const cli = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }
  const code = await runAppCheckCommand(args, cli, undefined, { ...commandIoFromProcess(cli), now: () => 0 })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('chanvm app check (the command)', function () {
  this.timeout(300_000)
  let dir: string
  let artifact: string
  let manifest: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-appcheck-'))
    artifact = join(dir, 'Tally.json')
    writeFileSync(artifact, compileFixture(join(fixtures, 'Tally.sol')).standardJson)
    manifest = join(dir, 'manifest.json')
    copyFileSync(join(fixtures, 'tally.manifest.json'), manifest)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('gives a clean bill to a contract that keeps the rules (manifest found next to the artifact)', async () => {
    const r = await appCheck([artifact, '--runs', '8', '--seed', '3'])
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /^clean bill: /m)
    assert.match(r.out, /^ {2}pay +x\d+ +\d+ \/ \d+ \/ \d+ +app \d+$/m, 'gas per action on chain')
    assert.match(r.err, /app check: starting a chain and deploying Tally/, 'progress on stderr')
  })

  it('finds a planted balance leak and prints the shortest sequence', async () => {
    const r = await appCheck([artifact, '--manifest', manifest, '--contract', 'TallyLeak', '--seed', '1'])
    assert.equal(r.code, 1, r.err)
    assert.match(r.out, /^FOUND not-conserved: balances do not add up/m)
    assert.match(r.out, /^shortest sequence \(1 step\):\n {2}1\. pay\(amount=101\) by (alice|bob)/m)
    assert.match(r.out, /^replay it with --seed 1$/m)
  })

  it('finds a planted read of block.timestamp, as JSON', async () => {
    const r = await appCheck([artifact, '--contract', 'TallyTimestamp', '--seed', '1', '--json'])
    assert.equal(r.code, 1, r.err)
    const report = JSON.parse(r.out) as { clean: boolean; findings: { kind: string; sequence: unknown[] }[] }
    assert.equal(report.clean, false)
    assert.equal(report.findings[0]?.kind, 'block-context')
    assert.equal(report.findings[0]?.sequence.length, 3)
  })

  it('passes the metered example, built and described the way its README says', async () => {
    const r = await appCheck([
      buildMetered(),
      '--term',
      'pricePerUnit=1000',
      '--term',
      'cap=500000',
      '--term',
      'closeGrace=60',
      '--balances',
      '600000,0',
      '--runs',
      '10',
      '--seed',
      '9',
    ])
    assert.equal(r.code, 0, `${r.out}\n${r.err}`)
    assert.match(r.out, /^clean bill: /m)
    assert.match(r.out, /^ {2}pay /m)
  })

  it('refuses bad input with a clear error and runs nothing', async () => {
    const bad = join(dir, 'bad.manifest.json')
    writeFileSync(bad, JSON.stringify({ name: 'Tally!', artifact: './Tally.json', contract: 'Tally' }))
    const r1 = await appCheck([artifact, '--manifest', bad])
    assert.equal(r1.code, 2)
    assert.match(r1.err, /manifest .*bad\.manifest\.json name: lower case letters/)
    const r2 = await appCheck([artifact, '--contract', 'NoSuchContract'])
    assert.equal(r2.code, 2)
    assert.match(r2.err, /NoSuchContract/)
    const r3 = await appCheck([])
    assert.equal(r3.code, 2)
    assert.match(r3.err, /ARTIFACT is required/)
    const r4 = await appCheck([artifact, '--balances', '1,2,3'])
    assert.equal(r4.code, 2)
    assert.match(r4.err, /--balances takes two amounts/)
    assert.doesNotMatch(r1.err + r2.err + r3.err + r4.err, /starting a chain/)
  })
})
