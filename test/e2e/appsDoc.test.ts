// docs/apps.md, run as written: every command of its `sh` blocks, in order, from the repository
// root (`npx tsx` as `node --import tsx`, `npx chanvm` as `node cli/bin.mjs`), each must exit 0;
// the check must give the metered example a clean bill with gas for both actions, and the deploy
// (on an anvil of the test's own, for the page's http://127.0.0.1:8545) must put its code on chain.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPublicClient, http, keccak256, type Address } from 'viem'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
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
  let anvil: Anvil | undefined
  after(async () => await anvil?.stop())

  it('builds the metered example, checks it (a clean bill, gas for pay and close) and deploys it', async () => {
    const commands = pageCommands()
    assert.deepEqual(
      commands.map((c) => c.slice(0, 3).join(' ')),
      ['npx tsx examples/metered/buildMetered.ts', 'npx chanvm app', 'npx chanvm deploy'],
    )
    anvil = await startAnvil()
    const env = { ...process.env, CHANVM_DEPLOYER_KEY: anvil.accounts[0]!.privateKey }
    const outputs: string[] = []
    for (const [npx, tool, ...args] of commands) {
      assert.equal(npx, 'npx')
      const argv =
        tool === 'tsx'
          ? ['--import', 'tsx', ...args]
          : tool === 'chanvm'
            ? [
                join(ROOT, 'cli', 'bin.mjs'),
                ...args.map((a) => (a === 'http://127.0.0.1:8545' ? anvil!.rpcUrl : a)),
              ]
            : assert.fail(`unexpected command npx ${tool}`)
      const r = await runNode(argv, { cwd: ROOT, timeoutMs: 240_000, env })
      assert.equal(r.code, 0, `npx ${tool} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`)
      outputs.push(r.stdout)
    }
    const last = outputs[1] ?? ''
    assert.match(last, /^app check of Metered: 20 sequences \(seed 1\), \d+ steps/m)
    assert.match(last, /^ {2}pay +x\d+ /m)
    assert.match(last, /^ {2}close +x\d+ /m)
    assert.match(last, /^clean bill: /m)
    const deployed = JSON.parse(outputs[2] ?? '') as { address: Address; codeHash: string; apps: unknown }
    assert.deepEqual(deployed.apps, { metered: deployed.address })
    const code = await createPublicClient({ transport: http(anvil.rpcUrl) }).getCode({
      address: deployed.address,
    })
    assert.equal(keccak256(code ?? '0x'), deployed.codeHash)
  })
})
