// A user's app end to end, the way a user brings one: a contract written only for the test
// (test/fixtures/Tab.sol, outside apps/) compiled with the pinned solc into a temporary folder,
// deployed with `chanvm deploy --artifact`, loaded into two real nodes through their configuration
// files (`apps: [manifest]`, `chain.apps.tab`), a channel opened with `chanvm open --app tab --term`,
// actions sent with `chanvm act ID charge --arg` and through the HTTP API with named arguments; then
// the payer's node refuses to co-sign a charge (its signing policy) and the payee forces it on chain
// with `chanvm dispute`: the Adjudicator's state is the sandbox's post-state, byte for byte, and the
// payouts are its balances. Run once from solc's standard JSON output and once from a Foundry
// artifact. Beside it, the code-hash guard: a configuration that names the app at an address with
// other code does not start, and an open whose contract stopped matching is refused; neither changes
// anything.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createPublicClient,
  createTestClient,
  decodeAbiParameters,
  encodeAbiParameters,
  getAddress,
  http,
  keccak256,
  parseEther,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem'
import { createApiClient } from '../../cli/apiClient.ts'
import { startDemoNode, type DemoNodeHandle } from '../../cli/demo/startDemoNode.ts'
import { writeDemoNodeFiles } from '../../cli/demo/serveDemoNode.ts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import type { ChannelParams, State } from '../../engine/channel/types.ts'
import { wireToState } from '../../engine/channel/wire.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import type { WireState } from '../../engine/transport/types.ts'
import type { NodeConfig } from '../../node/types.ts'
import { startMosquitto, type TestBroker } from '../oracles/brokers.ts'
import { compileSolidity, writeFoundryArtifact, type SolcOutput } from '../support/compileSolidity.ts'
import {
  CHANVM_BIN as BIN,
  cleanEnv,
  runChanvm as chanvm,
  type ChanvmRun as Ran,
} from '../support/runChanvm.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/Tab.sol', import.meta.url))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const CHALLENGE = 3_600n
const ETH = parseEther('1')
/** Wei per unit charged, a term of the channel. */
const PRICE = parseEther('0.01')
const DATA = [
  {
    type: 'tuple',
    components: [
      { name: 'units', type: 'uint64' },
      { name: 'limit', type: 'uint64' },
      { name: 'price', type: 'uint128' },
    ],
  },
] as const

/** Tab's `charge(units)` as the contract reads it: abi.encode(uint8 0, abi.encode(uint64 units)). */
const chargeAction = (units: bigint): Hex =>
  encodeAbiParameters(
    [{ type: 'uint8' }, { type: 'bytes' }],
    [0, encodeAbiParameters([{ type: 'uint64' }], [units])],
  )
const tabData = (appData: Hex) => decodeAbiParameters(DATA, appData)[0]

/** The manifest a user writes for Tab, its artifact path relative to the manifest. */
const tabManifest = (artifact: string, contract?: string) => ({
  name: 'tab',
  artifact,
  ...(contract === undefined ? {} : { contract }),
  roles: ['payee', 'payer'],
  state: {
    params: [
      {
        name: 'd',
        type: 'tuple',
        components: [
          { name: 'units', type: 'uint64' },
          { name: 'limit', type: 'uint64' },
          { name: 'price', type: 'uint128' },
        ],
      },
    ],
  },
  terms: ['limit', 'price'],
  initial: { units: 0 },
  actionEncoding: 'tuple',
  actions: [
    { name: 'charge', tag: 0, args: [{ name: 'units', type: 'uint64' }] },
    { name: 'close', tag: 1 },
  ],
})

const json = <T>(r: Ran): T => {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`not one JSON document on stdout (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`)
  }
}

/** `chanvm node --config FILE` as a process, until its ready line. */
async function startNodeProcess(
  configPath: string,
  passphrase: string,
): Promise<{ child: ChildProcess; url: string; address: Address; logs: () => string }> {
  const child = spawn(process.execPath, [BIN, 'node', '--config', configPath], {
    env: cleanEnv({ CHANVM_PASSPHRASE: passphrase }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  for (let i = 0; i < 2400 && !stdout.includes('\n') && child.exitCode === null; i++) await sleep(50)
  const m = /^chanvm node ready: address (0x[0-9a-fA-F]{40}) api (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout)
  if (m === null) {
    child.kill('SIGKILL')
    assert.fail(`the node did not get ready.\nstdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`)
  }
  return { child, url: m[2]!, address: getAddress(m[1]!), logs: () => stderr }
}

/** A channel as `chanvm show --json` prints it. */
type Shown = { channelId: Hex; app: string; version: string; balances: string[] }

const FORMATS = [
  { format: 'solc standard JSON', accounts: [2, 3] },
  { format: 'Foundry', accounts: [4, 5] },
] as const

describe("a user's app end to end: compiled, deployed, configured, run by two nodes, forced on chain", function () {
  this.timeout(600_000)
  let broker: TestBroker | undefined
  let anvil: Anvil | undefined
  let dir: string
  let rpc: PublicClient
  let compiled: SolcOutput
  /** The Adjudicator and the built-in apps, from `chanvm deploy`. */
  let deployment: { chainId: number; adjudicator: Address; apps: Record<string, Address> }

  before(async function () {
    const started = await startMosquitto()
    if ('skip' in started) {
      console.log(`      skipped: ${started.skip}`)
      this.skip()
    }
    broker = started
    anvil = await startAnvil()
    rpc = createPublicClient({ transport: http(anvil.rpcUrl) })
    dir = mkdtempSync(join(tmpdir(), 'chanvm-user-app-e2e-'))
    compiled = compileSolidity({ 'Tab.sol': readFileSync(FIXTURE, 'utf8') })
    writeFileSync(join(dir, 'solc-output.json'), JSON.stringify(compiled))
    writeFoundryArtifact(dir, compiled, 'Tab.sol', 'Tab')
    const deployed = await chanvm(['deploy', '--rpc-url', anvil.rpcUrl], {
      CHANVM_DEPLOYER_KEY: anvil.accounts[0]!.privateKey,
    })
    assert.equal(deployed.code, 0, deployed.stderr)
    deployment = json(deployed)
  })

  after(async () => {
    await broker?.stop()
    await anvil?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  for (const { format, accounts } of FORMATS) {
    describe(`from a ${format} artifact`, () => {
      const here = () => join(dir, format === 'Foundry' ? 'foundry' : 'solc')
      const manifestPath = () => join(here(), 'tab.manifest.json')
      let tab: { address: Address; codeHash: Hex }
      let alice: Awaited<ReturnType<typeof startNodeProcess>> | undefined
      let bob: DemoNodeHandle | undefined
      let channelId: Hex
      /** Version 2, co-signed through the API: the state the refused step builds on. */
      let v2: State

      const config = (apps: Record<string, Address>): Omit<NodeConfig, 'keystore' | 'dataDir' | 'http'> => ({
        chain: {
          rpcUrl: anvil!.rpcUrl,
          chainId: deployment.chainId,
          adjudicator: deployment.adjudicator,
          pollingIntervalMs: 200,
          apps,
        },
        broker: { url: broker!.url },
        apps: [manifestPath()],
        responseTimeoutMs: 60_000,
      })
      const aliceKey = () => anvil!.accounts[accounts[0]]!.privateKey
      const bobKey = () => anvil!.accounts[accounts[1]]!.privateKey
      const at = (command: string, args: string[], during?: () => Promise<void>) =>
        chanvm([command, '--api', alice!.url, ...args], {}, during)
      const show = async (id: Hex): Promise<Shown> => {
        const r = await at('show', [id, '--json'])
        assert.equal(r.code, 0, r.stderr)
        return json<Shown>(r)
      }
      const advance = async (seconds: bigint) => {
        const test = createTestClient({ mode: 'anvil', transport: http(anvil!.rpcUrl) })
        await test.increaseTime({ seconds: Number(seconds) })
        await test.mine({ blocks: 1 })
      }

      before(async () => {
        mkdirSync(here(), { recursive: true })
        // The manifest beside the user's build output; its artifact path is relative to it.
        const manifest =
          format === 'Foundry'
            ? tabManifest('../out/Tab.sol/Tab.json')
            : tabManifest('../solc-output.json', 'Tab')
        writeFileSync(manifestPath(), JSON.stringify(manifest, null, 2))
        const artifact =
          format === 'Foundry'
            ? [join(dir, 'out', 'Tab.sol', 'Tab.json')]
            : [join(dir, 'solc-output.json'), '--contract', 'Tab']
        const deployed = await chanvm(
          ['deploy', '--rpc-url', anvil!.rpcUrl, '--artifact', ...artifact, '--manifest', manifestPath()],
          { CHANVM_DEPLOYER_KEY: anvil!.accounts[0]!.privateKey },
        )
        assert.equal(deployed.code, 0, deployed.stderr)
        const d = json<{ address: Address; codeHash: Hex; app: string; apps: Record<string, Address> }>(
          deployed,
        )
        assert.equal(d.app, 'tab')
        assert.deepEqual(d.apps, { tab: d.address })
        const runtime = (
          compiled.contracts['Tab.sol']!['Tab']!['evm'] as { deployedBytecode: { object: string } }
        ).deployedBytecode.object
        assert.equal(d.codeHash, keccak256(`0x${runtime}`))
        tab = { address: d.address, codeHash: d.codeHash }
      })

      after(async () => {
        if (alice !== undefined && alice.child.exitCode === null) {
          const exited = new Promise((r) => alice!.child.once('exit', r))
          alice.child.kill('SIGTERM')
          await exited
        }
        await bob?.close()
      })

      it('a configuration naming the app at an address with other code does not start: APP_CODE_MISMATCH with both code hashes, nothing written', async () => {
        const wrong = join(here(), 'wrong')
        const escrow = deployment.apps['escrow']!
        const files = await writeDemoNodeFiles(wrong, config({ tab: escrow }), aliceKey(), 1024)
        const r = await chanvm(['node', '--config', files.configPath], {
          CHANVM_PASSPHRASE: files.passphrase,
        })
        assert.equal(r.code, 3, r.stderr)
        assert.equal(r.stdout, '')
        const escrowHash = keccak256((await rpc.getCode({ address: escrow }))!)
        assert.match(r.stderr, /APP_CODE_MISMATCH/)
        assert.match(r.stderr, new RegExp(`chain\\.apps\\.tab ${escrow} does not run the tab app`, 'i'))
        assert.ok(r.stderr.includes(`code hash on chain ${escrowHash}, expected ${tab.codeHash}`), r.stderr)
        assert.equal(existsSync(join(wrong, 'data')), false, 'the data folder was not created')
      })

      it('two nodes load the app from their configuration files; the channel opens with chanvm open --app tab --term', async () => {
        const aliceFiles = await writeDemoNodeFiles(
          join(here(), 'alice'),
          config({ tab: tab.address }),
          aliceKey(),
          1024,
        )
        // Bob's node signs what its policy lets through: never a charge of 4 units.
        ;[alice, bob] = await Promise.all([
          startNodeProcess(aliceFiles.configPath, aliceFiles.passphrase),
          startDemoNode({
            role: 'bob',
            dir: join(here(), 'bob'),
            config: config({ tab: tab.address }),
            privateKey: bobKey(),
            scryptN: 1024,
            refuse: { reason: 'disputes this charge', mover: 0, action: chargeAction(4n) },
          }),
        ])
        const nonce = BigInt(accounts[0])
        const [opened, bobOpened] = await Promise.all([
          at('open', [
            '--app',
            'tab',
            '--counterparty',
            bob.address,
            '--role',
            'first',
            '--balances',
            '1eth,1eth',
            '--nonce',
            nonce.toString(),
            '--challenge',
            CHALLENGE.toString(),
            '--term',
            'limit=10',
            '--term',
            `price=${PRICE}`,
            '--json',
          ]),
          bob.api.openChannel({
            app: 'tab',
            counterparty: alice.address,
            role: 'second',
            balances: [ETH, ETH],
            nonce,
            challengeDuration: CHALLENGE,
            terms: { limit: '10', price: PRICE.toString() },
          }),
        ])
        assert.equal(opened.code, 0, opened.stderr)
        const shown = json<Shown>(opened)
        channelId = shown.channelId
        assert.equal(bobOpened.channelId, channelId)
        assert.equal(shown.app, 'tab')
        assert.equal(shown.version, '0')
        const deposits = await rpc.getContractEvents({
          address: deployment.adjudicator,
          abi: Adjudicator.abi,
          eventName: 'Deposited',
          args: { channelId },
          fromBlock: 0n,
        })
        assert.deepEqual(
          deposits.map((e) => e.args.amount),
          [ETH, ETH],
        )
      })

      it('chanvm act ID charge --arg units=3, then the API with named arguments: co-signed v1 and v2; a wrong type changes nothing', async () => {
        const act = await at('act', [channelId, 'charge', '--arg', 'units=3', '--json'])
        assert.equal(act.code, 0, act.stderr)
        const v1 = json<{ result: { ok: boolean; signed: { state: WireState } } }>(act).result
        assert.equal(v1.ok, true)
        assert.deepEqual(wireToState(v1.signed.state).balances, [ETH + 3n * PRICE, ETH - 3n * PRICE])

        const post = (body: unknown) =>
          fetch(`${alice!.url}/v1/channels/${channelId}/actions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        const ok = await post({ action: 'charge', args: { units: '2' } })
        assert.equal(ok.status, 200, await ok.clone().text())
        const signed = ((await ok.json()) as { signed: { state: WireState; signatures: Hex[] } }).signed
        v2 = wireToState(signed.state)
        assert.equal(signed.signatures.length, 2)
        assert.equal(v2.version, 2n)
        assert.deepEqual(v2.balances, [ETH + 5n * PRICE, ETH - 5n * PRICE])
        assert.deepEqual(tabData(v2.appData), { units: 5n, limit: 10n, price: PRICE })

        const bad = await post({ action: 'charge', args: { units: 'two' } })
        assert.equal(bad.status, 400)
        const error = ((await bad.json()) as { error: { code: string; details?: string[] } }).error
        assert.equal(error.code, 'INVALID_ARGUMENT')
        assert.deepEqual(error.details, ['argument: units', 'expected: uint64'])
        for (const v of [await show(channelId), await bob!.api.getChannel(channelId)])
          assert.equal(String(v.version), '2')
      })

      it('bob refuses to co-sign a charge of 4; alice forces it with chanvm dispute: the chain holds the sandbox post-state and pays its balances', async () => {
        const refused = await at('act', [channelId, 'charge', '--arg', 'units=4', '--json'])
        assert.equal(refused.code, 1, refused.stderr)
        assert.match(refused.stderr, /refused: .*disputes this charge/)
        assert.equal((await bob!.api.getChannel(channelId)).version, 2n)

        // The off-chain run of the refused step: the sandbox, from co-signed v2, alice moving.
        const action = chargeAction(4n)
        const params: ChannelParams = {
          chainId: BigInt(deployment.chainId),
          adjudicator: deployment.adjudicator,
          participants: [alice!.address, bob!.address],
          app: tab.address,
          appCodeHash: tab.codeHash,
          challengeDuration: CHALLENGE,
          nonce: BigInt(accounts[0]),
        }
        const runtime = (await rpc.getCode({ address: tab.address }))!
        const off = await runTransition(await createSandbox(), {
          params,
          from: v2,
          mover: 0n,
          action,
          env: { blockNumber: 1n, timestamp: 1n },
          appCode: runtime,
          appAbi: JSON.parse(JSON.stringify(compiled.contracts['Tab.sol']!['Tab']!['abi'])) as never,
        })
        assert(off.ok, off.ok ? '' : off.message)
        assert.equal(off.state.channelId, channelId)
        assert.deepEqual(off.state.balances, [ETH + 9n * PRICE, ETH - 9n * PRICE])

        const fromBlock = (await rpc.getBlockNumber()) + 1n
        const disputed = await at('dispute', [channelId, '--yes', '--poll', '1', '--json'], async () => {
          await sleep(1_500)
          await advance(CHALLENGE + 1n)
        })
        assert.equal(disputed.code, 0, disputed.stderr)
        const doc = json<{ outcome: string; steps: { step: string }[] }>(disputed)
        assert.equal(doc.outcome, 'done')
        assert.deepEqual(
          doc.steps.map((s) => s.step),
          ['force', 'conclude', 'withdraw'],
        )

        const progressedEvents = await rpc.getContractEvents({
          address: deployment.adjudicator,
          abi: Adjudicator.abi,
          eventName: 'Progressed',
          args: { channelId },
          fromBlock,
        })
        const concluded = await rpc.getContractEvents({
          address: deployment.adjudicator,
          abi: Adjudicator.abi,
          eventName: 'Concluded',
          args: { channelId },
          fromBlock,
        })
        const [progressed] = progressedEvents
        assert(progressed !== undefined)
        assert.equal(progressed.args.baseVersion, 2n)
        assert.equal(progressed.args.mover, 0n)
        assert.equal(progressed.args.action, action)
        const onChain = progressed.args.state!
        assert.deepEqual(
          {
            channelId: onChain.channelId,
            version: onChain.version,
            balances: [...onChain.balances],
            appData: onChain.appData,
            isFinal: onChain.isFinal,
          },
          off.state,
        )
        assert.deepEqual(tabData(onChain.appData), { units: 9n, limit: 10n, price: PRICE })
        assert.equal(concluded.length, 1)
        assert.equal(concluded[0]!.args.version, 3n)
        assert.deepEqual(concluded[0]!.args.payouts, off.state.balances)

        // Both nodes took the forced state as the channel's: version 3, the same balances. Alice's
        // API is asked until it has it (not a `chanvm show` process per look), then the command shows it.
        const aliceApi = createApiClient({ url: alice!.url })
        for (const end = Date.now() + 120_000; Date.now() < end; await sleep(200))
          if ((await aliceApi.getChannel(channelId)).version === 3n) break
        const seen = await show(channelId)
        assert.equal(seen.version, '3')
        assert.deepEqual(seen.balances.map(BigInt), off.state.balances)
        let bobSees = await bob!.api.getChannel(channelId)
        for (let i = 0; i < 100 && bobSees.version !== 3n; i++) {
          await sleep(200)
          bobSees = await bob!.api.getChannel(channelId)
        }
        assert.equal(bobSees.version, 3n)
        assert.deepEqual(bobSees.balances, off.state.balances)

        // The payout: alice withdrew hers in the dispute; bob withdraws his through his API.
        const bobPlan = await bob!.api.getDispute(channelId)
        assert.equal(bobPlan.next.step, 'withdraw')
        await bob!.api.postDispute(channelId)
        const withdrawn = await rpc.getContractEvents({
          address: deployment.adjudicator,
          abi: Adjudicator.abi,
          eventName: 'Withdrawn',
          fromBlock,
        })
        const paid = Object.fromEntries(withdrawn.map((e) => [e.args.account!, e.args.amount!]))
        assert.deepEqual(paid, {
          [alice!.address]: off.state.balances[0],
          [bob!.address]: off.state.balances[1],
        })
      })

      it('an open whose app contract no longer runs the app code is refused with APP_CODE_MISMATCH: no channel, no deposit', async () => {
        const original = (await rpc.getCode({ address: tab.address }))!
        const escrowCode = (await rpc.getCode({ address: deployment.apps['escrow']! }))!
        const test = createTestClient({ mode: 'anvil', transport: http(anvil!.rpcUrl) })
        await test.setCode({ address: tab.address, bytecode: escrowCode })
        try {
          // Fresh reads (viem keeps a block number for its polling interval, 4 s by default).
          const head = await rpc.getBlockNumber({ cacheTime: 0 })
          const sent = async () =>
            Promise.all([alice!.address, bob!.address].map((address) => rpc.getTransactionCount({ address })))
          const sentBefore = await sent()
          const before = await at('channels', ['--json'])
          const r = await at('open', [
            '--app',
            'tab',
            '--counterparty',
            bob!.address,
            '--role',
            'first',
            '--balances',
            '1eth,1eth',
            '--nonce',
            '999',
            '--challenge',
            CHALLENGE.toString(),
            '--term',
            'limit=10',
            '--term',
            `price=${PRICE}`,
            '--json',
          ])
          // The node answered and refused (409): exit 1, not a failure of the node.
          assert.equal(r.code, 1, r.stderr)
          const error = json<{ error: { code: string; message: string } }>(r).error
          assert.equal(error.code, 'APP_CODE_MISMATCH')
          assert.match(
            error.message,
            new RegExp(`chain\\.apps\\.tab ${tab.address} does not run the tab app`, 'i'),
          )
          // The API says which code is there and which was expected.
          const api = await fetch(`${alice!.url}/v1/channels`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              app: 'tab',
              counterparty: bob!.address,
              role: 'first',
              balances: [ETH.toString(), ETH.toString()],
              nonce: '999',
              challengeDuration: CHALLENGE.toString(),
              terms: { limit: '10', price: PRICE.toString() },
            }),
          })
          const apiError = ((await api.json()) as { error: { code: string; details?: string[] } }).error
          assert.equal(apiError.code, 'APP_CODE_MISMATCH')
          assert.deepEqual(apiError.details, [
            `code hash on chain ${keccak256(escrowCode)}, expected ${tab.codeHash}`,
          ])
          const after = await at('channels', ['--json'])
          assert.deepEqual(json<unknown[]>(after), json<unknown[]>(before))
          // Neither node sent a transaction, and nobody deposited: no deposit was made.
          assert.deepEqual(await sent(), sentBefore)
          const now = await rpc.getBlockNumber({ cacheTime: 0 })
          const deposited =
            now > head
              ? await rpc.getContractEvents({
                  address: deployment.adjudicator,
                  abi: Adjudicator.abi,
                  eventName: 'Deposited',
                  fromBlock: head + 1n,
                  toBlock: now,
                })
              : []
          assert.deepEqual(deposited, [])
        } finally {
          await test.setCode({ address: tab.address, bytecode: original })
        }
      })
    })
  }
})
