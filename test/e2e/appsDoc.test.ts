// docs/apps.md, run as written: every command of its `sh` blocks, in order, from the repository
// root (`npx tsx` as `node --import tsx`, `npx chanvm` as `node cli/bin.mjs`), each must exit 0;
// the check must give the metered example a clean bill with gas for both actions.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runNode } from '../support/runNode.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The commands of docs/apps.md's `sh` blocks, continuation lines joined. */
function pageCommands(): string[][] {
  const page = readFileSync(join(ROOT, 'docs', 'apps.md'), 'utf8')
  const commands: string[][] = []
  for (const block of page.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').replace(/\\\n\s*/g, '').split('\n')) {
      if (line.trim() === '' || line.trim().startsWith('#')) continue
      commands.push(line.trim().split(/\s+/))
    }
  }
  return commands
}

describe('docs/apps.md runs as written', function () {
  this.timeout(300_000)

  it('builds the metered example and checks it: a clean bill, gas for pay and close', async () => {
    const commands = pageCommands()
    assert.deepEqual(
      commands.map((c) => c.slice(0, 3).join(' ')),
      ['npx tsx examples/metered/buildMetered.ts', 'npx chanvm app'],
    )
    let last = ''
    for (const [npx, tool, ...args] of commands) {
      assert.equal(npx, 'npx')
      const argv =
        tool === 'tsx'
          ? ['--import', 'tsx', ...args]
          : tool === 'chanvm'
            ? [join(ROOT, 'cli', 'bin.mjs'), ...args]
            : assert.fail(`unexpected command npx ${tool}`)
      const r = await runNode(argv, { cwd: ROOT, timeoutMs: 240_000 })
      assert.equal(r.code, 0, `npx ${tool} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`)
      last = r.stdout
    }
    assert.match(last, /^app check of Metered: 20 sequences \(seed 1\), \d+ steps/m)
    assert.match(last, /^ {2}pay +x\d+ /m)
    assert.match(last, /^ {2}close +x\d+ /m)
    assert.match(last, /^clean bill: /m)
  })
})
