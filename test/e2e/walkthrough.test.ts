// docs/walkthrough.md, run as written: `npx anvil`, `mosquitto`, `npx chanvm deploy`, `key new`,
// two `chanvm node` daemons, `open`, `act`, `show`, Ctrl-C on one node and `dispute` on the other,
// in real time (anvil mines a block a second; the challenge period is 10 s). Only the ports and the
// folder differ from the page (free ports, a temporary folder).
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPublicClient, http, parseEther, type Hex } from 'viem'
import { createApiClient } from '../../cli/apiClient.ts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) =>
  existsSync(p),
)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Every command this test ran, as `program arg arg …`. */
const ran: string[] = []

/**
 * The commands of docs/walkthrough.md's `sh` blocks: continuation lines joined, comments, `export`,
 * `mkdir`, `cat` and `rm` left out, leading variable assignments and a trailing `> FILE` removed.
 */
function walkthroughCommands(): string[] {
  const page = readFileSync(join(ROOT, 'docs', 'walkthrough.md'), 'utf8')
  const commands: string[] = []
  for (const block of page.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const text = block[1]!.replace(/\\\n\s*/g, '')
    for (const raw of text.split('\n')) {
      const line = raw
        .trim()
        .replace(/^([A-Za-z_][A-Za-z0-9_]*=('[^']*'|\S+)\s+)+/, '')
        .replace(/\s+>\s+\S+$/, '')
      if (line === '' || /^(#|export |mkdir |cat |rm )/.test(line)) continue
      commands.push(line.replace(/\s+/g, ' '))
    }
  }
  return commands
}

// anvil's first dev accounts (its default mnemonic), as the page uses them.
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const ALICE_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const BOB_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'
const ALICE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const BOB = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const ARBITER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'

type Ran = { code: number | null; stdout: string; stderr: string }
type Background = {
  child: ChildProcess
  output: () => string
  stdout: () => string
  exit: Promise<number | null>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env }
  for (const name of ['CHANVM_API_TOKEN', 'CHANVM_API_URL', 'CHANVM_PASSPHRASE', 'CHANVM_DEPLOYER_KEY'])
    delete base[name]
  return { ...base, ...extra }
}

/** A command run in the checkout, as a shell would (its own process group, like a terminal's job). */
function background(command: string, args: string[], extra: Record<string, string> = {}): Background {
  ran.push([basename(command), ...args].join(' '))
  const child = spawn(command, args, {
    cwd: ROOT,
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let out = ''
  let all = ''
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8')
    all += c.toString('utf8')
  })
  child.stderr?.on('data', (c: Buffer) => (all += c.toString('utf8')))
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, output: () => all, stdout: () => out, exit }
}

async function run(command: string, args: string[], extra: Record<string, string> = {}): Promise<Ran> {
  const job = background(command, args, extra)
  const code = await job.exit
  return { code, stdout: job.stdout(), stderr: job.output().slice(job.stdout().length) }
}

/** Ctrl-C in a terminal: SIGINT to the job's whole process group. */
function ctrlC(job: Background): void {
  if (job.child.pid !== undefined && job.child.exitCode === null) process.kill(-job.child.pid, 'SIGINT')
}

/**
 * Ctrl-C on a node started through npx: the node stops cleanly (its last log line says so); npx
 * itself then ends by the signal, as a shell job does.
 */
async function stop(job: Background): Promise<void> {
  ctrlC(job)
  await job.exit
  const lines = job.output().trim().split('\n')
  const messages = lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg?: string }).msg)
  assert.equal(messages.at(-1), 'stopped', lines.slice(-5).join('\n'))
  assert.ok(!messages.includes('the node did not close cleanly'))
}

function killGroup(job: Background | undefined): void {
  if (job?.child.pid !== undefined && job.child.exitCode === null) {
    try {
      process.kill(-job.child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

describe('docs/walkthrough.md: two nodes on one machine, as the page runs them', function () {
  this.timeout(900_000)
  const jobs: Background[] = []
  let dir: string

  before(function () {
    if (MOSQUITTO === undefined) {
      console.log('      skipped: mosquitto is not installed (apt-get install mosquitto)')
      this.skip()
    }
    dir = mkdtempSync(join(tmpdir(), 'chanvm-walkthrough-'))
  })

  after(async () => {
    for (const job of jobs.reverse()) {
      killGroup(job)
      await job.exit
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('runs every command of the page: a channel opened, acted on, and settled by one node alone', async () => {
    const rpcPort = await freePort()
    const mqttPort = await freePort()
    const rpcUrl = `http://127.0.0.1:${rpcPort}`

    // 1. The chain and the broker.
    const anvil = background('npx', [
      'anvil',
      '--hardfork',
      'osaka',
      '--block-time',
      '1',
      '--port',
      String(rpcPort),
    ])
    jobs.push(anvil)
    const mosquitto = background(MOSQUITTO!, ['-p', String(mqttPort)])
    jobs.push(mosquitto)
    const rpc = createPublicClient({ transport: http(rpcUrl) })
    await until('anvil', async () => (await rpc.getChainId().catch(() => 0)) === 31337)
    await until('mosquitto', () => /running/.test(mosquitto.output()), 30_000)

    // 2. The contracts.
    const deployed = await run('npx', ['chanvm', 'deploy', '--rpc-url', rpcUrl], {
      CHANVM_DEPLOYER_KEY: DEPLOYER_KEY,
    })
    assert.equal(deployed.code, 0, deployed.stderr)
    writeFileSync(join(dir, 'deployment.json'), deployed.stdout)
    const d = JSON.parse(deployed.stdout) as { chainId: number; adjudicator: Hex; apps: Record<string, Hex> }

    // 3. Two keystores and two configs.
    const nodes = {
      alice: { key: ALICE_KEY, port: await freePort() },
      bob: { key: BOB_KEY, port: await freePort() },
    }
    const tokens = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdefgh' }
    const passphrases = { alice: 'alice passphrase', bob: 'bob passphrase' }
    for (const who of ['alice', 'bob'] as const) {
      mkdirSync(join(dir, who))
      const made = await run(
        'npx',
        ['chanvm', 'key', 'new', '--out', join(dir, who, 'key.json'), '--private-key-env', 'NODE_KEY'],
        { CHANVM_PASSPHRASE: passphrases[who], NODE_KEY: nodes[who].key },
      )
      assert.equal(made.code, 0, made.stderr)
      assert.equal(made.stdout.trim(), who === 'alice' ? ALICE : BOB)
      const config = {
        dataDir: './data',
        keystore: './key.json',
        chain: { rpcUrl, chainId: d.chainId, adjudicator: d.adjudicator, apps: d.apps },
        broker: { url: `mqtt://127.0.0.1:${mqttPort}` },
        http: { host: '127.0.0.1', port: nodes[who].port },
      }
      writeFileSync(join(dir, who, 'node.json'), JSON.stringify(config, null, 2))
    }

    // 4. Two nodes, each in its own terminal.
    const daemons = {} as Record<'alice' | 'bob', Background>
    for (const who of ['alice', 'bob'] as const) {
      daemons[who] = background('npx', ['chanvm', 'node', '--config', join(dir, who, 'node.json')], {
        CHANVM_PASSPHRASE: passphrases[who],
        CHANVM_API_TOKEN: tokens[who],
      })
      jobs.push(daemons[who])
    }
    for (const who of ['alice', 'bob'] as const) {
      await until(
        `${who}'s node`,
        () => daemons[who].stdout().includes('\n') || daemons[who].child.exitCode !== null,
      )
      assert.match(
        daemons[who].stdout(),
        new RegExp(
          `^chanvm node ready: address ${who === 'alice' ? ALICE : BOB} api http://127\\.0\\.0\\.1:${nodes[who].port}\\n`,
        ),
        daemons[who].output().slice(-3000),
      )
    }
    const chanvm = (who: 'alice' | 'bob', args: string[]) =>
      run('npx', ['chanvm', ...args, '--api', `http://127.0.0.1:${nodes[who].port}`], {
        CHANVM_API_TOKEN: tokens[who],
      })

    // 5. One escrow, opened from both sides.
    const open = (who: 'alice' | 'bob') =>
      chanvm(who, [
        'open',
        '--app',
        'escrow',
        '--counterparty',
        who === 'alice' ? BOB : ALICE,
        '--role',
        who === 'alice' ? 'first' : 'second',
        '--balances',
        '1eth,0',
        '--nonce',
        '1',
        '--challenge',
        '10s',
        '--arbiter',
        ARBITER,
      ])
    const [a, b] = await Promise.all([open('alice'), open('bob')])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    const id = /(0x[0-9a-f]{64})/.exec(a.stdout)?.[1] as Hex | undefined
    assert(id !== undefined, a.stdout)
    assert.ok(b.stdout.includes(id), b.stdout)

    // 6. Act: alice funds the escrow and releases it.
    const fund = await chanvm('alice', ['act', id, 'fund', '--amount', '0.4eth', '--deadline', '+1d'])
    assert.equal(fund.code, 0, fund.stderr)
    assert.match(fund.stdout, /^fund: co-signed version 1/)
    const release = await chanvm('alice', ['act', id, 'release'])
    assert.equal(release.code, 0, release.stderr)
    assert.match(release.stdout, /^release: co-signed version 2: payer 0\.6 ETH, payee 0\.4 ETH/)
    const listed = await chanvm('bob', ['channels'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.ok(listed.stdout.includes(id))
    // Bob commits version 2 just after he answers it: his node's API is asked until it has it (an
    // `npx chanvm show` per look costs a process start), then the page's command shows it.
    const bobApi = createApiClient({ url: `http://127.0.0.1:${nodes.bob.port}`, token: tokens.bob })
    for (const end = Date.now() + 120_000; Date.now() < end; await sleep(200))
      if ((await bobApi.getChannel(id)).version === 2n) break
    const shown = await chanvm('bob', ['show', id])
    assert.match(shown.stdout, /version {3}2 \(latest co-signed\)/)

    // 7. Bob's node stops (Ctrl-C, exit 0); alice settles alone.
    await stop(daemons.bob)
    const disputed = await chanvm('alice', ['dispute', id, '--yes'])
    assert.equal(disputed.code, 0, disputed.stderr)
    assert.match(disputed.stdout + disputed.stderr, /waiting/)
    const after = await chanvm('alice', ['show', id])
    assert.match(after.stdout, /concluded/)
    const withdrawn = await rpc.getContractEvents({
      address: d.adjudicator,
      abi: Adjudicator.abi,
      eventName: 'Withdrawn',
      args: { account: ALICE },
      fromBlock: 0n,
    })
    assert.deepEqual(
      withdrawn.map((e) => e.args.amount),
      [parseEther('0.6')],
    )

    // 8. Bob's node starts again from its folder and withdraws his share.
    daemons.bob = background('npx', ['chanvm', 'node', '--config', join(dir, 'bob', 'node.json')], {
      CHANVM_PASSPHRASE: passphrases.bob,
      CHANVM_API_TOKEN: tokens.bob,
    })
    jobs.push(daemons.bob)
    await until(
      "bob's node again",
      () => daemons.bob.stdout().includes('\n') || daemons.bob.child.exitCode !== null,
    )
    assert.match(daemons.bob.stdout(), /^chanvm node ready: /, daemons.bob.output().slice(-3000))
    const bobsShare = await chanvm('bob', ['dispute', id, '--yes'])
    assert.equal(bobsShare.code, 0, bobsShare.stderr)
    assert.match(bobsShare.stdout, /sending withdraw\.\.\./)
    assert.doesNotMatch(bobsShare.stdout, /sending (register|conclude)/)
    const bobWithdrew = await rpc.getContractEvents({
      address: d.adjudicator,
      abi: Adjudicator.abi,
      eventName: 'Withdrawn',
      args: { account: BOB },
      fromBlock: 0n,
    })
    assert.deepEqual(
      bobWithdrew.map((e) => e.args.amount),
      [parseEther('0.4')],
    )

    // 9. Clean up.
    await stop(daemons.bob)
    await stop(daemons.alice)

    // The page and this test run the same commands, up to the ports, the folder and the channel id.
    const asOnThePage = (command: string) =>
      command
        .replaceAll(dir, 'run')
        .replace(` --port ${rpcPort}`, '')
        .replaceAll(String(rpcPort), '8545')
        .replaceAll(String(mqttPort), '1883')
        .replaceAll(`127.0.0.1:${nodes.alice.port}`, '127.0.0.1:7311')
        .replaceAll(`127.0.0.1:${nodes.bob.port}`, '127.0.0.1:7312')
        .replaceAll(id, '$ID')
    assert.deepEqual([...new Set(ran.map(asOnThePage))].sort(), [...new Set(walkthroughCommands())].sort())
  })
})
