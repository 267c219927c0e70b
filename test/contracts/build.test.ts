// The contracts build finds the built-in apps' Solidity by their folders: each app's contract lives
// in its folder, is compiled from there (imports of chanvm's own Solidity as `chanvm/...`) into the
// folder's generated/, and a new app folder is built without being named anywhere else.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BUILT_IN_APPS } from '../../apps/builtInApps.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The folders of apps/ holding an app module, by app name. */
function appFolders(): Map<string, string> {
  const out = new Map<string, string>()
  for (const e of readdirSync(join(ROOT, 'apps'), { withFileTypes: true })) {
    const manifest = join(ROOT, 'apps', e.name, 'manifest.json')
    if (!e.isDirectory() || !existsSync(manifest)) continue
    out.set((JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }).name, e.name)
  }
  return out
}

/** Every .sol file under `dir`, relative to the repository. */
function solidityUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? solidityUnder(join(dir, e.name)) : e.name.endsWith('.sol') ? [join(dir, e.name)] : [],
  )
}

describe('contracts build: each built-in app is compiled from its own folder', () => {
  it("an app's module carries the artifact built beside it from the folder's Solidity, and contracts/src holds no app", async () => {
    const folders = appFolders()
    assert.ok(BUILT_IN_APPS.length >= 3)
    for (const app of BUILT_IN_APPS) {
      const folder = folders.get(app.name)
      assert.ok(folder !== undefined, `${app.name}: no folder`)
      const manifest = JSON.parse(readFileSync(join(ROOT, 'apps', folder, 'manifest.json'), 'utf8')) as {
        artifact: string
        contract: string
      }
      assert.equal(manifest.contract, app.artifact.contractName)
      assert.ok(
        existsSync(join(ROOT, 'apps', folder, manifest.artifact)),
        `${app.name}: ${manifest.artifact}`,
      )
      const name = app.artifact.contractName
      const built = ((await import(`../../apps/${folder}/generated/${name}.ts`)) as Record<string, unknown>)[
        name
      ] as { sourceFile: string; deployedBytecode: string }
      assert.equal(built.sourceFile, `apps/${folder}/${manifest.artifact}`)
      assert.equal(built.deployedBytecode, app.artifact.deployedBytecode)
      // The copy for tools and tests that name a contract is the same build.
      const copy = readFileSync(join(ROOT, 'contracts', 'generated', `${name}.ts`), 'utf8')
      assert.equal(copy, readFileSync(join(ROOT, 'apps', folder, 'generated', `${name}.ts`), 'utf8'))
      // No app contract is defined under contracts/src.
      for (const f of solidityUnder('contracts/src'))
        assert.doesNotMatch(readFileSync(join(ROOT, f), 'utf8'), new RegExp(`\\bcontract ${name}\\b`), f)
    }
  })

  describe('a new app folder, in a copy of the build', function () {
    this.timeout(120_000)
    let dir: string

    before(() => {
      mkdirSync(join(ROOT, '.tmp'), { recursive: true })
      dir = mkdtempSync(join(ROOT, '.tmp', 'build-'))
      // contracts/ with its cache, so only the new app compiles; node_modules is found from .tmp/'s parent.
      cpSync(join(ROOT, 'contracts'), join(dir, 'contracts'), { recursive: true })
      mkdirSync(join(dir, 'apps', 'counter'), { recursive: true })
      writeFileSync(
        join(dir, 'apps', 'counter', 'manifest.json'),
        JSON.stringify({ name: 'counter', artifact: 'Counter.sol', contract: 'Counter' }),
      )
      writeFileSync(
        join(dir, 'apps', 'counter', 'Counter.sol'),
        `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {ChannelParams, State, Env} from "chanvm/ChanvmTypes.sol";
import {IApp} from "chanvm/IApp.sol";
import {Step} from "./Step.sol";
contract Counter is IApp {
    function transition(ChannelParams calldata, State calldata from, uint256, bytes calldata, Env calldata)
        external pure returns (bytes memory, uint256[] memory, bool) {
        uint256 n = abi.decode(from.appData, (uint256));
        return (abi.encode(n + Step.SIZE), from.balances, false);
    }
}
`,
      )
      writeFileSync(
        join(dir, 'apps', 'counter', 'Step.sol'),
        '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\nlibrary Step { uint256 internal constant SIZE = 1; }\n',
      )
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    const build = () =>
      spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['contracts/build.ts'], {
        cwd: dir,
        encoding: 'utf8',
      })

    it('is compiled into its own generated/ and contracts/generated/, chanvm/ and folder imports resolved, the rest cached', () => {
      const run = build()
      assert.equal(run.status, 0, run.stderr)
      assert.match(run.stderr, /compiled apps\/counter\/Counter\.sol/)
      assert.match(run.stderr, /1 compiled/)
      for (const out of ['apps/counter/generated/Counter.ts', 'contracts/generated/Counter.ts']) {
        const text = readFileSync(join(dir, out), 'utf8')
        assert.match(text, /sourceFile: 'apps\/counter\/Counter\.sol'/)
        assert.match(text, /deployedBytecode: '0x[0-9a-f]{100,}'/)
      }
      assert.match(build().stderr, /0 compiled/)
    })

    it('an import from outside its folder other than chanvm/ is not found, and the build fails naming the file', () => {
      const sol = join(dir, 'apps', 'counter', 'Counter.sol')
      writeFileSync(
        sol,
        readFileSync(sol, 'utf8').replace('"chanvm/IApp.sol"', '"../../contracts/src/IApp.sol"'),
      )
      const run = build()
      assert.equal(run.status, 1)
      assert.match(run.stderr, /apps\/counter\/Counter\.sol does not compile/)
      assert.match(run.stderr, /not found/)
    })

    it('a manifest naming Solidity outside its folder stops the build', () => {
      writeFileSync(
        join(dir, 'apps', 'counter', 'manifest.json'),
        JSON.stringify({ name: 'counter', artifact: '../../contracts/src/IApp.sol' }),
      )
      const run = build()
      assert.notEqual(run.status, 0)
      assert.match(run.stderr, /apps\/counter\/manifest\.json artifact: no Solidity file/)
    })
  })
})
