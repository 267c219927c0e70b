import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runNode } from '../support/runNode.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('npm run bench: its command line', function () {
  it('prints its usage for --help, and refuses an unknown part or option with exit code 2 before running anything', async () => {
    const help = await runNode(['--import', 'tsx', 'bench/main.ts', '--help'], { cwd: root })
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /^usage: npm run bench/)
    assert.match(help.stdout, /protocol, gas, oracles, apps, node, channels, deals/)

    const part = await runNode(['--import', 'tsx', 'bench/main.ts', '--json', '--only', 'protocol,protcol'], {
      cwd: root,
    })
    assert.equal(part.code, 2)
    assert.match(part.stderr, /no such part: protcol\n/)
    assert.doesNotMatch(part.stderr, /co-signed steps/, 'nothing ran')
    assert.equal(part.stdout, '', 'no JSON for a refused run')

    const option = await runNode(['--import', 'tsx', 'bench/main.ts', '--stpes', '10'], { cwd: root })
    assert.equal(option.code, 2)
    assert.match(option.stderr, /Unknown option '--stpes'/)
  })

  it('refuses a count that is not a whole number with exit code 2 before running anything', async () => {
    const r = await runNode(
      ['--import', 'tsx', 'bench/main.ts', '--json', '--only', 'node', '--node-warmup', '2k'],
      {
        cwd: root,
      },
    )
    assert.equal(r.code, 2)
    assert.match(r.stderr, /not a whole number: --node-warmup 2k\n/)
    assert.doesNotMatch(r.stderr, /two nodes/, 'nothing ran')
    assert.equal(r.stdout, '')
  })

  it('refuses a width of channels at once that is 0 or an empty item, before running anything', async () => {
    for (const widths of ['0', '8,,32', '8,0']) {
      const r = await runNode(
        ['--import', 'tsx', 'bench/main.ts', '--json', '--only', 'protocol,node', '--node-parallel', widths],
        { cwd: root },
      )
      assert.equal(r.code, 2, widths)
      assert.match(r.stderr, new RegExp(`--node-parallel ${widths} \\(whole numbers of at least 1`))
      assert.doesNotMatch(r.stderr, /^bench: (?!not a whole number)/m, 'nothing ran')
      assert.equal(r.stdout, '')
    }
  })
})
