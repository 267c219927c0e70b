// A user's app, loaded the way a node's configuration loads it: a contract written only for the
// test, compiled with the pinned solc, read as solc's standard JSON output and as a Foundry
// artifact, run in the sandbox from named arguments, deployed on anvil and checked by its code hash.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPublicClient, http, type Address } from 'viem'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import { loadAppModule } from '../../apps/module/loadAppModule.ts'
import type { AppModule } from '../../apps/types.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import { checkDeployment } from '../../node/checkDeployment.ts'
import { createAppRegistry } from '../../apps/module/createAppRegistry.ts'
import { compileSolidity, writeFoundryArtifact } from '../support/compileSolidity.ts'
import { tallyManifest as manifest } from '../fixtures/tallyManifest.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/Tally.sol', import.meta.url))

describe('apps: a user app from a compiled artifact and a manifest', function () {
  this.timeout(120_000)
  let dir: string
  let solcPath: string
  let foundryPath: string
  let anvil: Anvil | undefined

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-user-app-'))
    const out = compileSolidity({ 'Tally.sol': readFileSync(FIXTURE, 'utf8') })
    solcPath = join(dir, 'solc-output.json')
    writeFileSync(solcPath, JSON.stringify(out))
    // Foundry's shape, written from solc's output: out/<Name>.sol/<Name>.json.
    foundryPath = writeFoundryArtifact(dir, out, 'Tally.sol', 'Tally')
  })
  after(async () => {
    await anvil?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const load = (name: string, m: Record<string, unknown>): AppModule => {
    const path = join(dir, name)
    writeFileSync(path, JSON.stringify(m))
    return loadAppModule(path)
  }

  it('loads from solc standard JSON and from a Foundry artifact to the same app', () => {
    const fromSolc = load('solc.manifest.json', manifest('./solc-output.json', { contract: 'Tally' }))
    const fromFoundry = load('foundry.manifest.json', manifest('./out/Tally.sol/Tally.json'))
    assert.equal(fromSolc.artifact.codeHash, fromFoundry.artifact.codeHash)
    assert.equal(fromFoundry.artifact.contractName, 'Tally')
    assert.deepEqual(fromFoundry.roles, ['left', 'right'])
    // It runs beside the built-in apps: one registry, found by code hash.
    const registry = createAppRegistry([...BUILT_IN_REGISTRY.list, fromFoundry])
    assert.equal(registry.byCodeHash(fromFoundry.artifact.codeHash)?.name, 'tally')
  })

  it('runs in the sandbox from named arguments; a wrong argument type changes nothing', async () => {
    const app = load('foundry.manifest.json', manifest('./out/Tally.sol/Tally.json'))
    const params: ChannelParams = {
      chainId: 31337n,
      adjudicator: `0x${'ad'.repeat(20)}`,
      participants: [`0x${'a1'.repeat(20)}`, `0x${'b2'.repeat(20)}`],
      app: `0x${'cc'.repeat(20)}`,
      appCodeHash: app.artifact.codeHash,
      challengeDuration: 60n,
      nonce: 1n,
    }
    const initial: State = {
      channelId: getChannelId(params),
      version: 0n,
      balances: [100n, 100n],
      appData: app.initialAppData({ limit: '10' }),
      isFinal: false,
    }
    assert.deepEqual(app.decodeState(initial.appData), { count: '0', limit: '10' })
    const inputs = { answers: () => [], readings: () => [] }
    const action = app.encodeAction(
      'add',
      { n: '3' },
      { base: initial, channelId: initial.channelId, inputs },
    )
    assert.equal(app.actionName(action), 'add')
    const sandbox = await createSandbox()
    const r = await runTransition(sandbox, {
      params,
      from: initial,
      mover: 0n,
      action,
      env: { blockNumber: 1n, timestamp: 1n },
      appCode: app.artifact.deployedBytecode,
      appAbi: app.artifact.abi,
    })
    assert(r.ok, r.ok ? '' : r.message)
    assert.deepEqual(r.state.balances, [97n, 103n])
    assert.deepEqual(app.decodeState(r.state.appData), { count: '3', limit: '10' })
    let thrown: unknown
    try {
      app.encodeAction('add', { n: 'three' }, { base: initial, channelId: initial.channelId, inputs })
    } catch (e) {
      thrown = e
    }
    assert(thrown instanceof ChanvmError)
    assert.equal(thrown.code, 'INVALID_ARGUMENT')
    assert.deepEqual(thrown.details, ['argument: n', 'expected: uint64'])
  })

  it('an artifact that does not implement IApp, or a bad manifest, is a CONFIG error', () => {
    const notApp = join(dir, 'not-app.json')
    const foundry = JSON.parse(readFileSync(foundryPath, 'utf8')) as { abi: { name?: string }[] }
    writeFileSync(
      notApp,
      JSON.stringify({ ...foundry, abi: foundry.abi.filter((i) => i.name !== 'transition') }),
    )
    for (const [m, re] of [
      [manifest('./not-app.json'), /does not implement IApp/],
      [manifest('./missing.json'), /cannot be read/],
      [
        manifest('./out/Tally.sol/Tally.json', { terms: ['limit', 'speed'] }),
        /terms\[1\]: speed is not a state field/,
      ],
    ] as const) {
      let thrown: unknown
      try {
        load('bad.manifest.json', m)
      } catch (e) {
        thrown = e
      }
      assert(thrown instanceof ChanvmError, String(thrown))
      assert.equal(thrown.code, 'CONFIG')
      assert.match(thrown.shortMessage, re)
    }
  })

  it('deployed on anvil: the node start-up check takes its code hash and refuses another app at its address', async () => {
    const app = load('foundry.manifest.json', manifest('./out/Tally.sol/Tally.json'))
    anvil = await startAnvil()
    const escrow = BUILT_IN_REGISTRY.byName('escrow')!
    const d = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: anvil.accounts[0]!.privateKey,
      apps: [app.artifact, escrow.artifact],
    })
    const tally = d.apps['Tally']!
    assert.equal(tally.codeHash, app.artifact.codeHash)
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const check = async (apps: Record<string, Address>) => {
      try {
        await checkDeployment({
          getCode: (a) => client.getCode({ address: a }),
          rpcUrl: anvil!.rpcUrl,
          adjudicator: d.adjudicator.address,
          apps,
          appCodeHashes: { tally: app.artifact.codeHash, escrow: escrow.artifact.codeHash },
        })
      } catch (e) {
        return e
      }
      return undefined
    }
    assert.equal(await check({ tally: tally.address, escrow: d.apps['Escrow']!.address }), undefined)
    const mismatch = await check({ escrow: tally.address })
    assert(mismatch instanceof ChanvmError)
    assert.equal(mismatch.code, 'APP_CODE_MISMATCH')
    assert.match(mismatch.shortMessage, /chain\.apps\.escrow .* does not run the escrow app/)
    assert.deepEqual(mismatch.details, [
      `code hash on chain ${app.artifact.codeHash}, expected ${escrow.artifact.codeHash}`,
    ])
    const unknown = await check({ poker: tally.address })
    assert(unknown instanceof ChanvmError)
    assert.equal(unknown.code, 'CONFIG')
    assert.match(unknown.shortMessage, /this node runs no app poker/)
  })
})
