// chanvm deploy on a real anvil: the built-in apps, deployed through the registry (every app the
// registry holds, by its name), and a user's artifact (--artifact, solc standard JSON or Foundry),
// whose address and code hash it prints; a bad artifact or manifest deploys nothing.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPublicClient, getAddress, http, keccak256, type Address, type Hex } from 'viem'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import { runDeployCommand } from '../../cli/commands/deploy.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { createTestIo } from '../cli/support.ts'
import { compileSolidity, writeFoundryArtifact, type SolcOutput } from '../support/compileSolidity.ts'
import { tallyManifest } from '../fixtures/tallyManifest.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/Tally.sol', import.meta.url))
const quiet = { out: () => undefined, err: () => undefined }

/** A second contract beside Tally in one solc output: an app whose constructor takes an argument. */
const SEEDED = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {Tally} from "Tally.sol";
contract SeededTally is Tally {
    uint256 public immutable seed;
    constructor(uint256 s) { seed = s; }
}
contract StampedTally is Tally {
    uint256 public immutable stamp = block.number;
}
`

describe('chanvm deploy on anvil: the built-in apps through the registry, and a user artifact', function () {
  this.timeout(180_000)
  let anvil: Anvil
  let dir: string
  let out: SolcOutput
  let key: Hex
  let deployer: Address

  const deploy = async (args: string[]) => {
    const io = createTestIo({ env: { CHANVM_DEPLOYER_KEY: key } })
    const code = await runDeployCommand(['--rpc-url', anvil.rpcUrl, ...args], quiet, undefined, io)
    return { code, doc: io.json() as Record<string, unknown>, stderr: io.stderr.join('\n') }
  }
  const client = () => createPublicClient({ transport: http(anvil.rpcUrl) })
  const codeHashAt = async (address: Address) => {
    const code = await client().getCode({ address })
    return code === undefined || code === '0x' ? undefined : keccak256(code)
  }
  const nonce = () => client().getTransactionCount({ address: deployer })

  before(async () => {
    anvil = await startAnvil()
    key = anvil.accounts[0]!.privateKey
    deployer = anvil.accounts[0]!.address
    dir = mkdtempSync(join(tmpdir(), 'chanvm-deploy-'))
    out = compileSolidity({ 'Tally.sol': readFileSync(FIXTURE, 'utf8'), 'Seeded.sol': SEEDED })
    writeFileSync(join(dir, 'solc-output.json'), JSON.stringify(out))
    writeFoundryArtifact(dir, out, 'Tally.sol', 'Tally')
    writeFileSync(join(dir, 'tally.json'), JSON.stringify(tallyManifest('./out/Tally.sol/Tally.json')))
  })
  after(async () => {
    await anvil?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('without --artifact: the Adjudicator and every built-in app, by its registry name, each running its code', async () => {
    const r = await deploy([])
    assert.equal(r.code, 0, r.stderr)
    const apps = r.doc['apps'] as Record<string, Address>
    assert.deepEqual(Object.keys(apps).sort(), [...BUILT_IN_REGISTRY.names].sort())
    for (const [name, address] of Object.entries(apps))
      assert.equal(await codeHashAt(address), BUILT_IN_REGISTRY.byName(name)!.artifact.codeHash, name)
    assert.notEqual(await codeHashAt(r.doc['adjudicator'] as Address), undefined)
    assert.equal(r.doc['chainId'], anvil.chainId)
  })

  it('--artifact (Foundry) with --manifest: its address, code hash and the chain.apps line of the app', async () => {
    const r = await deploy([
      '--artifact',
      join(dir, 'out/Tally.sol/Tally.json'),
      '--manifest',
      join(dir, 'tally.json'),
    ])
    assert.equal(r.code, 0, r.stderr)
    const address = r.doc['address'] as Address
    assert.equal(address, getAddress(address))
    const runtime =
      `0x${(out.contracts['Tally.sol']!['Tally']!['evm'] as { deployedBytecode: { object: string } }).deployedBytecode.object}` as Hex
    assert.equal(r.doc['codeHash'], keccak256(runtime))
    assert.equal(await codeHashAt(address), keccak256(runtime))
    assert.deepEqual(
      { contract: r.doc['contract'], app: r.doc['app'], apps: r.doc['apps'], chainId: r.doc['chainId'] },
      { contract: 'Tally', app: 'tally', apps: { tally: address }, chainId: anvil.chainId },
    )
    assert.ok(BigInt(r.doc['gasUsed'] as string) > 21_000n)
  })

  it('--artifact (solc standard JSON) --contract: the same code at a new address', async () => {
    const r = await deploy(['--artifact', join(dir, 'solc-output.json'), '--contract', 'Tally.sol:Tally'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await codeHashAt(r.doc['address'] as Address), r.doc['codeHash'])
    assert.equal(r.doc['contract'], 'Tally')
    assert.equal(r.doc['apps'], undefined)
  })

  it('code on chain that is not the artifact runtime code (an immutable) is APP_CODE_MISMATCH naming both hashes', async () => {
    const r = await deploy(['--artifact', join(dir, 'solc-output.json'), '--contract', 'StampedTally'])
    assert.equal(r.code, 3, r.stderr)
    const error = r.doc['error'] as { code: string; message: string }
    assert.equal(error.code, 'APP_CODE_MISMATCH')
    assert.match(
      error.message,
      /StampedTally deployed at 0x[0-9a-fA-F]{40}, but the code there is not the artifact's runtime code/,
    )
    assert.match(r.stderr, /code hash on chain 0x[0-9a-f]{64}, expected 0x[0-9a-f]{64}/)
  })

  it('a bad artifact or manifest is CONFIG (exit 2) and deploys nothing', async () => {
    const foundry = JSON.parse(readFileSync(join(dir, 'out/Tally.sol/Tally.json'), 'utf8')) as {
      abi: { name?: string }[]
    }
    writeFileSync(
      join(dir, 'not-app.json'),
      JSON.stringify({ ...foundry, abi: foundry.abi.filter((i) => i.name !== 'transition') }),
    )
    writeFileSync(join(dir, 'garbage.json'), '{ not json')
    writeFileSync(
      join(dir, 'seeded.json'),
      JSON.stringify(tallyManifest('./solc-output.json', { name: 'seeded', contract: 'SeededTally' })),
    )
    writeFileSync(
      join(dir, 'bad-manifest.json'),
      JSON.stringify(tallyManifest('./out/Tally.sol/Tally.json', { terms: ['speed'] })),
    )
    const solcOut = join(dir, 'solc-output.json')
    const tally = join(dir, 'out/Tally.sol/Tally.json')
    const cases: [string[], RegExp][] = [
      [['--artifact', join(dir, 'not-app.json')], /does not implement IApp/],
      [['--artifact', join(dir, 'garbage.json')], /not JSON/],
      [['--artifact', join(dir, 'missing.json')], /cannot be read/],
      [
        ['--artifact', solcOut],
        /several contracts \(Seeded\.sol:SeededTally, Seeded\.sol:StampedTally, Tally\.sol:Tally\)/,
      ],
      [['--artifact', solcOut, '--contract', 'Counter'], /no contract Counter in it/],
      [['--artifact', solcOut, '--contract', 'SeededTally'], /SeededTally's constructor takes arguments/],
      [['--artifact', tally, '--manifest', join(dir, 'seeded.json')], /its artifact is not .*Tally\.json/],
      [
        ['--artifact', tally, '--manifest', join(dir, 'bad-manifest.json')],
        /terms\[0\]: speed is not a state field/,
      ],
    ]
    const before = await nonce()
    for (const [args, message] of cases) {
      const r = await deploy(args)
      assert.equal(r.code, 2, args.join(' '))
      const error = r.doc['error'] as { code: string; message: string }
      assert.equal(error.code, 'CONFIG', args.join(' '))
      assert.match(error.message, message)
      assert.match(r.stderr, message)
    }
    assert.equal(await nonce(), before, 'no transaction was sent')
    const usage = await deploy(['--manifest', join(dir, 'tally.json')])
    assert.equal(usage.code, 2)
    assert.match((usage.doc['error'] as { message: string }).message, /--manifest goes with --artifact FILE/)
  })
})
