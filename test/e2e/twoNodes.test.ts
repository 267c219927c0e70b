// Two chanvm nodes as separate processes (`chanvm node --config`), on anvil and Mosquitto, driven only
// through the commands (`chanvm deploy`, `key new`, `open`, `act`, `show`, `dispute`, each a process of
// cli/bin.mjs) and the HTTP API: an escrow opened and settled, a cheater's stale registration refuted
// by a node restarted after a SIGKILL, a stalled peer settled alone, bad input refused, clean stops.
// docs/walkthrough.md runs the same commands by hand.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import {
  createTestClient,
  getAddress,
  http,
  parseEther,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { createApiClient } from '../../cli/apiClient.ts'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import {
  createAdjudicatorClient,
  type AdjudicatorClient,
} from '../../engine/adjudicator/createAdjudicatorClient.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { wireToParams, wireToState } from '../../engine/channel/wire.ts'
import type { SignedState } from '../../engine/channel/types.ts'
import type { WireParams, WireState } from '../../engine/transport/types.ts'
import type { NodeConfig } from '../../node/types.ts'
import { startMosquitto, type TestBroker } from '../oracles/brokers.ts'
import {
  CHANVM_BIN as BIN,
  cleanEnv,
  runChanvm as chanvm,
  type ChanvmRun as Ran,
} from '../support/runChanvm.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ETH = parseEther('1')
const CHALLENGE = 3_600n

type Who = 'alice' | 'bob'
type NodeProcess = {
  child: ChildProcess
  url: string
  address: Address
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  logs: () => string
}
/** A channel as `chanvm show --json` prints it (bigints as decimal strings). */
type Shown = {
  channelId: Hex
  version: string
  balances: string[]
  phase: string
  onChain?: { status: string; version: string }
}

/** GET with a Host header of our choice (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { host } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString('utf8')))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
  })
}

const json = <T>(r: Ran): T => {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`not one JSON document on stdout (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`)
  }
}

describe('two chanvm nodes as processes: anvil, Mosquitto, the commands and the API', function () {
  this.timeout(900_000)
  let broker: TestBroker | undefined
  let anvil: Anvil | undefined
  let dir: string
  let rpc: PublicClient
  let adjudicator: Address
  let apps: { escrow: Address }
  let arbiter: Address
  let bobOnChain: AdjudicatorClient
  const keys: Record<Who, Hex> = { alice: '0x', bob: '0x' }
  const nodes: Partial<Record<Who, NodeProcess>> = {}
  const tokens: Record<Who, string> = {
    alice: 'alice-api-token-0123456789abcdef',
    bob: 'bob-api-token-0123456789abcdefgh',
  }
  const passphrases: Record<Who, string> = { alice: 'alice passphrase', bob: 'bob passphrase' }
  const config = (who: Who) => join(dir, who, 'node.json')
  const dataDir = (who: Who) => join(dir, who, 'data')
  // Alice's config names her token's variable (http.tokenEnv); bob's node uses CHANVM_API_TOKEN.
  const tokenEnv = (who: Who): Record<string, string> =>
    who === 'alice' ? { ALICE_API_TOKEN: tokens.alice } : { CHANVM_API_TOKEN: tokens.bob }
  const api = (who: Who): string[] => {
    const node = nodes[who]
    assert(node !== undefined, `${who}'s node is not running`)
    return ['--api', node.url, ...(who === 'alice' ? ['--token-env', 'ALICE_API_TOKEN'] : [])]
  }
  /** `chanvm COMMAND --api … [ARGS]` against `who`'s node. */
  const at = (who: Who, command: string, args: string[], during?: () => Promise<void>) =>
    chanvm([command, ...api(who), ...args], tokenEnv(who), during)
  const show = async (who: Who, channelId: Hex): Promise<Shown> => {
    const r = await at(who, 'show', [channelId, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return json<Shown>(r)
  }
  /**
   * `show --json` once the node reports `version` (bob commits a step just after he answers it). The
   * wait asks the node's API, not a `chanvm show` process per look (a process start costs a second
   * of CPU); the command then shows what the API reported.
   */
  const showVersion = async (who: Who, channelId: Hex, version: string): Promise<Shown> => {
    const node = createApiClient({ url: nodes[who]!.url, token: tokens[who] })
    for (
      const end = Date.now() + 60_000;
      String((await node.getChannel(channelId)).version) !== version && Date.now() < end;
    )
      await sleep(200)
    const shown = await show(who, channelId)
    assert.equal(shown.version, version, `${who}'s version of ${channelId}`)
    return shown
  }
  const testClient = () => createTestClient({ mode: 'anvil', transport: http(anvil!.rpcUrl) })
  const advance = async (seconds: number, blocks = 1) => {
    await testClient().increaseTime({ seconds })
    await testClient().mine({ blocks })
  }
  const chainNow = async () => (await rpc.getBlock()).timestamp

  const startNode = async (who: Who, withToken = true): Promise<NodeProcess> => {
    const child = spawn(process.execPath, [BIN, 'node', '--config', config(who)], {
      env: cleanEnv({ CHANVM_PASSPHRASE: passphrases[who], ...(withToken ? tokenEnv(who) : {}) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    )
    for (
      const end = Date.now() + 300_000;
      !stdout.includes('\n') && child.exitCode === null && Date.now() < end;
    )
      await sleep(50)
    const m = /^chanvm node ready: address (0x[0-9a-fA-F]{40}) api (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout)
    if (m === null) {
      child.kill('SIGKILL')
      assert.fail(`${who}'s node did not get ready.\nstdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`)
    }
    const node = { child, url: m[2]!, address: m[1] as Address, exited, logs: () => stderr }
    nodes[who] = node
    return node
  }
  const kill = async (who: Who, signal: NodeJS.Signals) => {
    const node = nodes[who]
    assert(node !== undefined)
    node.child.kill(signal)
    const exit = await node.exited
    delete nodes[who]
    return { ...exit, logs: node.logs() }
  }
  /** The node events a node logged (its JSON log lines with msg "node event"). */
  const eventsIn = (logs: string) =>
    logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; event?: Record<string, unknown> })
      .filter((l) => l.msg === 'node event')
      .map(
        (l) => l.event as { source: string; channelId?: Hex; step?: string; event?: Record<string, unknown> },
      )
  const receipt = (hash: Hex): Promise<TransactionReceipt> => rpc.getTransactionReceipt({ hash })

  before(async function () {
    const started = await startMosquitto()
    if ('skip' in started) {
      console.log(`      skipped: ${started.skip}`)
      this.skip()
    }
    broker = started
    anvil = await startAnvil()
    dir = mkdtempSync(join(tmpdir(), 'chanvm-two-nodes-'))
    // Nodes keyed by accounts 4 and 5: a node subscribes to the channel topics addressed to its key,
    // and the kill test's parties (accounts 0 and 1) may run on the same shared broker meanwhile.
    const [deployer, , , , a, b, arb] = anvil.accounts
    assert(deployer && a && b && arb)
    keys.alice = a.privateKey
    keys.bob = b.privateKey
    arbiter = arb.address

    // chanvm deploy: the Adjudicator and the apps, their addresses as JSON.
    const deployed = await chanvm(['deploy', '--rpc-url', anvil.rpcUrl], {
      CHANVM_DEPLOYER_KEY: deployer.privateKey,
    })
    assert.equal(deployed.code, 0, deployed.stderr)
    const d = json<{ chainId: number; adjudicator: Address; apps: { escrow: Address }; gasUsed: string }>(
      deployed,
    )
    assert.equal(d.chainId, anvil.chainId)
    assert.ok(BigInt(d.gasUsed) > 1_000_000n)
    adjudicator = d.adjudicator
    apps = d.apps
    // Bob's own Adjudicator client, outside his node: how he cheats; it also reads the records.
    bobOnChain = await createAdjudicatorClient({
      rpcUrl: anvil.rpcUrl,
      address: adjudicator,
      privateKey: b.privateKey,
      chainId: anvil.chainId,
    })
    rpc = bobOnChain.publicClient as PublicClient
    assert.notEqual(await rpc.getCode({ address: apps.escrow }), undefined)

    for (const who of ['alice', 'bob'] as const) {
      mkdirSync(join(dir, who))
      // chanvm key new: the funded dev key encrypted into a V3 keystore (the key from a variable).
      const made = await chanvm(
        ['key', 'new', '--out', join(dir, who, 'key.json'), '--private-key-env', 'NODE_KEY', '--json'],
        { CHANVM_PASSPHRASE: passphrases[who], NODE_KEY: keys[who] },
      )
      assert.equal(made.code, 0, made.stderr)
      assert.equal(json<{ address: string }>(made).address, getAddress((who === 'alice' ? a : b).address))
      assert.equal(statSync(join(dir, who, 'key.json')).mode & 0o777, 0o600)
      const cfg: NodeConfig = {
        dataDir: './data',
        keystore: './key.json',
        chain: {
          rpcUrl: anvil.rpcUrl,
          chainId: d.chainId,
          adjudicator,
          pollingIntervalMs: 200,
          apps: { escrow: apps.escrow },
        },
        // A client id of this run's own, in case the broker is shared (CHANVM_MOSQUITTO_URL).
        broker: { url: broker.url, clientId: `chanvm-e2e-${who}-${process.pid}` },
        http: { host: '127.0.0.1', port: 0, ...(who === 'alice' ? { tokenEnv: 'ALICE_API_TOKEN' } : {}) },
        responseTimeoutMs: 10_000,
      }
      writeFileSync(config(who), JSON.stringify(cfg, null, 2))
    }
    await Promise.all([startNode('alice'), startNode('bob')])
  })

  after(async () => {
    for (const who of ['alice', 'bob'] as const) {
      const node = nodes[who]
      if (node !== undefined && node.child.exitCode === null) {
        node.child.kill('SIGKILL')
        await node.exited
      }
    }
    await broker?.stop()
    await anvil?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  // The two escrows: A for the cheater, B for the stalled peer.
  const channels: { A?: Hex; B?: Hex } = {}
  const need = (id: Hex | undefined): Hex => {
    assert(id !== undefined, 'an earlier test did not open the channel')
    return id
  }

  it('opens two escrows from both sides (each node deposits its share), then fund and release co-sign v1, v2', async () => {
    const alice = nodes.alice!.address
    const bob = nodes.bob!.address
    const open = (who: Who, nonce: string) =>
      at(who, 'open', [
        '--app',
        'escrow',
        '--counterparty',
        who === 'alice' ? bob : alice,
        '--role',
        who === 'alice' ? 'first' : 'second',
        '--balances',
        '1eth,0.2eth',
        '--nonce',
        nonce,
        '--challenge',
        '1h',
        '--arbiter',
        arbiter,
        '--timeout',
        '600',
        '--json',
      ])
    for (const [name, nonce] of [
      ['A', '101'],
      ['B', '102'],
    ] as const) {
      const [a, b] = await Promise.all([open('alice', nonce), open('bob', nonce)])
      assert.equal(a.code, 0, a.stderr)
      assert.equal(b.code, 0, b.stderr)
      const id = json<Shown>(a).channelId
      assert.equal(json<Shown>(b).channelId, id)
      assert.equal(json<Shown>(a).version, '0')
      channels[name] = id
      // Both deposits were made by the nodes, each from its own account.
      const deposits = await rpc.getContractEvents({
        address: adjudicator,
        abi: Adjudicator.abi,
        eventName: 'Deposited',
        args: { channelId: id },
        fromBlock: 0n,
      })
      const byParticipant = Object.fromEntries(
        deposits.map((e) => [e.args.participant!.toLowerCase(), e.args.amount!]),
      )
      assert.deepEqual(byParticipant, { [alice.toLowerCase()]: ETH, [bob.toLowerCase()]: ETH / 5n })
      assert.equal((await getChannelRecord(bobOnChain, id)).holdings, (ETH * 6n) / 5n)
    }

    for (const id of [need(channels.A), need(channels.B)]) {
      const fund = await at('alice', 'act', [id, 'fund', '--amount', '0.4eth', '--deadline', '+1d'])
      assert.equal(fund.code, 0, fund.stderr)
      assert.match(fund.stdout, /^fund: co-signed version 1/)
      for (const who of ['alice', 'bob'] as const) {
        const v1 = await showVersion(who, id, '1')
        // The escrowed 0.4 ETH stays in the payer's balance until it is released.
        assert.deepEqual(v1.balances, [ETH.toString(), (ETH / 5n).toString()])
      }
      const release = await at('alice', 'act', [id, 'release', '--json'])
      assert.equal(release.code, 0, release.stderr)
      const doc = json<{ action: string; result: { ok: boolean } }>(release)
      assert.equal(doc.result.ok, true)
      for (const who of ['alice', 'bob'] as const) {
        const shown = await showVersion(who, id, '2')
        assert.deepEqual(shown.balances, [parseEther('0.6').toString(), parseEther('0.6').toString()])
        assert.equal(shown.phase, 'open')
      }
    }
  })

  it('bad input through the commands and the API is refused with a clear error and changes nothing', async () => {
    const id = need(channels.A)
    const before = [await show('alice', id), await show('bob', id)]
    const unknown: Hex = `0x${'ab'.repeat(32)}`

    const notFound = await at('alice', 'show', [unknown, '--json'])
    assert.equal(notFound.code, 1, notFound.stderr)
    assert.equal(json<{ error: { code: string } }>(notFound).error.code, 'CHANNEL_NOT_FOUND')
    const actUnknown = await at('bob', 'act', [unknown, 'release', '--app', 'escrow'])
    assert.equal(actUnknown.code, 1)
    assert.match(actUnknown.stderr, /this node holds no such channel/)

    const badAmount = await at('alice', 'act', [id, 'fund', '--amount', '-1eth', '--deadline', '+1d'])
    assert.equal(badAmount.code, 2)
    assert.match(badAmount.stderr, /--amount/)
    const noAction = await at('alice', 'act', [id, 'claim'])
    assert.equal(noAction.code, 2)
    assert.match(noAction.stderr, /runs escrow, which has no action 'claim'/)

    const wrongToken = await chanvm(['show', '--api', nodes.alice!.url, '--token-env', 'T', id, '--json'], {
      T: 'not-alice-token-0123456789',
    })
    assert.equal(wrongToken.code, 1)
    assert.equal(json<{ error: { code: string } }>(wrongToken).error.code, 'UNAUTHORIZED')

    const post = (who: Who, path: string, body: unknown, token = tokens[who]) =>
      fetch(`${nodes[who]!.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      })
    const malformed = await post('alice', `/v1/channels/${id}/actions`, {
      app: 'escrow',
      type: 'fund',
      amount: 'lots',
      deadline: '1',
    })
    assert.equal(malformed.status, 400)
    // The app module checks each argument against its ABI type and names it.
    const malformedError = ((await malformed.json()) as { error: { code: string; details?: string[] } }).error
    assert.equal(malformedError.code, 'INVALID_ARGUMENT')
    assert.ok(malformedError.details?.includes('argument: amount'), JSON.stringify(malformedError))
    const overspend = await post('alice', `/v1/channels/${id}/actions`, {
      app: 'escrow',
      type: 'fund',
      amount: parseEther('50').toString(),
      deadline: '4000000000',
    })
    assert.equal(overspend.status, 409)
    assert.match(((await overspend.json()) as { error: { message: string } }).error.message, /Overspend/)
    const noToken = await fetch(`${nodes.bob!.url}/v1/channels/${id}`)
    assert.equal(noToken.status, 401)
    const bobsTokenAtAlice = await post(
      'alice',
      `/v1/channels/${id}/actions`,
      { app: 'escrow', type: 'close' },
      tokens.bob,
    )
    assert.equal(bobsTokenAtAlice.status, 401)

    // A node on a non-loopback address without a token does not start (exit 3), before any request.
    const open = JSON.parse(readFileSync(config('alice'), 'utf8')) as NodeConfig
    const exposed = join(dir, 'alice', 'exposed.json')
    writeFileSync(
      exposed,
      JSON.stringify({ ...open, dataDir: './exposed-data', http: { host: '0.0.0.0', port: 0 } }),
    )
    const refused = await chanvm(['node', '--config', exposed], { CHANVM_PASSPHRASE: passphrases.alice })
    assert.equal(refused.code, 3, refused.stderr)
    assert.match(refused.stderr, /not loopback/)
    assert.equal(refused.stdout, '')

    assert.deepEqual([await show('alice', id), await show('bob', id)], before)
  })

  it('bob registers v1 while alice is SIGKILLed; alice restarted from her data dir refutes with v2 in time', async () => {
    const id = need(channels.A)
    const alice = nodes.alice!.address
    // A cheater does not run his own watcher: bob's node stops (SIGTERM, clean: exit 0).
    const bobStop = await kill('bob', 'SIGTERM')
    assert.equal(bobStop.code, 0, bobStop.logs.slice(-2000))
    assert.ok(eventsIn(bobStop.logs).length > 0)

    const checkpointFile = join(dataDir('alice'), 'watcher-checkpoint.json')
    for (const end = Date.now() + 60_000; !existsSync(checkpointFile) && Date.now() < end;) await sleep(100)
    const aliceKill = await kill('alice', 'SIGKILL')
    assert.equal(aliceKill.signal, 'SIGKILL')
    const checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8')) as { cursor: string | null }

    // Bob's co-signed v1, read from his SQLite file (read-only), registered with his key.
    const db = new Database(join(dataDir('bob'), 'node.db'), { readonly: true, fileMustExist: true })
    let stale: { params: WireParams; signed: SignedState }
    try {
      const ch = db.prepare('SELECT params FROM channels WHERE channel_id = ?').get(id.toLowerCase()) as {
        params: string
      }
      const row = db
        .prepare('SELECT state, sigs FROM states WHERE channel_id = ? AND version = ?')
        .get(id.toLowerCase(), '1'.padStart(20, '0')) as { state: string; sigs: string }
      stale = {
        params: JSON.parse(ch.params) as WireParams,
        signed: {
          state: wireToState(JSON.parse(row.state) as WireState),
          signatures: JSON.parse(row.sigs) as Hex[],
        },
      }
    } finally {
      db.close()
    }
    assert.equal(stale.signed.state.version, 1n)
    const cheat = await register(bobOnChain, { params: wireToParams(stale.params), signed: stale.signed })
    assert.equal((await receipt(cheat.hash)).from.toLowerCase(), bobOnChain.account?.toLowerCase())
    const held = await getChannelRecord(bobOnChain, id)
    assert.equal(held.status, 'disputed')
    assert.equal(held.version, 1n)
    // The watcher's saved place is before the registration: the restarted node must read back to it.
    assert.ok(checkpoint.cursor !== null && BigInt(checkpoint.cursor) <= cheat.blockNumber)

    // Half the challenge period passes, with some blocks, while alice is down.
    await advance(Number(CHALLENGE / 2n), 5)
    assert.ok((await chainNow()) < cheat.finalizesAt)

    await startNode('alice')
    let record = await getChannelRecord(bobOnChain, id)
    for (let i = 0; i < 600 && record.version !== 2n; i++) {
      await sleep(200)
      record = await getChannelRecord(bobOnChain, id)
    }
    assert.equal(record.version, 2n, nodes.alice!.logs().slice(-3000))
    assert.equal(record.status, 'disputed')
    // The refutation (half a period in) moved both deadlines to its time + D: forced steps on the
    // refuting state stay possible for a full period.
    assert.ok(record.finalizesAt > cheat.finalizesAt, 'a refutation gives its state a full period')
    assert.equal(record.movesUntil, record.finalizesAt)
    assert.ok(record.finalizesAt <= (await chainNow()) + CHALLENGE)
    assert.ok((await chainNow()) < record.finalizesAt, 'refuted before the dispute finalizes')
    // The refutation is alice's node's transaction, reported as a watcher event and a chain step.
    let refuted: Record<string, unknown> | undefined
    for (const end = Date.now() + 60_000; refuted === undefined && Date.now() < end;) {
      refuted = eventsIn(nodes.alice!.logs()).find(
        (e) => e.source === 'watcher' && e.event?.['type'] === 'refuted',
      )?.event
      if (refuted === undefined) await sleep(100)
    }
    assert(refuted !== undefined, nodes.alice!.logs().slice(-3000))
    assert.equal(refuted['staleVersion'], '1')
    assert.equal(refuted['version'], '2')
    const tx = await rpc.getTransaction({ hash: refuted['txHash'] as Hex })
    assert.equal(tx.from.toLowerCase(), alice.toLowerCase())
    const shown = await show('alice', id)
    assert.equal(shown.onChain?.status, 'dispute')
    assert.equal(shown.onChain?.version, '2')
  })

  it('a node stopped with SIGTERM exits 0 and its data dir opens again with its channels', async () => {
    // Bob stopped cleanly (exit 0) before the cheat; started again from the same config and data dir.
    await startNode('bob')
    for (const id of [need(channels.A), need(channels.B)]) {
      const shown = await show('bob', id)
      assert.equal(shown.version, '2')
      assert.deepEqual(shown.balances, [parseEther('0.6').toString(), parseEther('0.6').toString()])
    }
    const list = await at('bob', 'channels', ['--json'])
    assert.equal(list.code, 0, list.stderr)
    assert.equal(json<unknown[]>(list).length, 2)
  })

  it('bob stalls for good (SIGKILL); alice settles B alone with chanvm dispute --yes, paid to the wei', async () => {
    const id = need(channels.B)
    const alice = nodes.alice!.address
    const latest = await show('alice', id)
    const killed = await kill('bob', 'SIGKILL')
    assert.equal(killed.signal, 'SIGKILL')
    const balanceBefore = await rpc.getBalance({ address: alice })
    const fromBlock = (await rpc.getBlockNumber()) + 1n

    // While the command waits, the chain's clock jumps past the challenge period now and then.
    const settled = await at('alice', 'dispute', [id, '--yes', '--poll', '1', '--json'], async () => {
      await sleep(1_500)
      await advance(Number(CHALLENGE) + 1)
    })
    assert.equal(settled.code, 0, settled.stderr)
    const doc = json<{
      outcome: string
      steps: { step: string; gas: string }[]
      plan: { payouts: string[] }
    }>(settled)
    assert.equal(doc.outcome, 'done')
    assert.deepEqual(
      doc.steps.map((s) => s.step),
      ['register', 'conclude', 'withdraw'],
      settled.stderr,
    )
    assert.match(settled.stderr, /waiting: .* left/)

    const concluded = await rpc.getContractEvents({
      address: adjudicator,
      abi: Adjudicator.abi,
      eventName: 'Concluded',
      args: { channelId: id },
      fromBlock,
    })
    assert.equal(concluded.length, 1)
    assert.equal(concluded[0]!.args.version, 2n)
    assert.deepEqual(concluded[0]!.args.payouts, latest.balances.map(BigInt))
    const withdrawn = await rpc.getContractEvents({
      address: adjudicator,
      abi: Adjudicator.abi,
      eventName: 'Withdrawn',
      args: { account: alice },
      fromBlock,
    })
    assert.equal(withdrawn.length, 1)
    assert.equal(withdrawn[0]!.args.amount, BigInt(latest.balances[0]!))
    assert.equal(withdrawn[0]!.args.amount, parseEther('0.6'))

    // Alice's account: +0.6 ETH less the fees of exactly her three transactions (register, conclude, withdraw).
    const registered = await rpc.getContractEvents({
      address: adjudicator,
      abi: Adjudicator.abi,
      eventName: 'Registered',
      args: { channelId: id },
      fromBlock,
    })
    const hashes = [registered[0]!, concluded[0]!, withdrawn[0]!].map((e) => e.transactionHash)
    let fees = 0n
    for (const hash of hashes) {
      const r = await receipt(hash)
      assert.equal(r.from.toLowerCase(), alice.toLowerCase())
      fees += r.gasUsed * r.effectiveGasPrice
    }
    const balanceAfter = await rpc.getBalance({ address: alice })
    assert.equal(balanceAfter - balanceBefore, parseEther('0.6') - fees)
    assert.equal((await getChannelRecord(bobOnChain, id)).status, 'concluded')
    assert.equal((await show('alice', id)).onChain?.status, 'concluded')
  })

  it('the cheated channel A concludes on the refuted v2: alice takes conclude and withdraw', async () => {
    const id = need(channels.A)
    const done = await at('alice', 'dispute', [id, '--yes', '--poll', '1', '--json'], async () => {
      await sleep(1_500)
      await advance(Number(CHALLENGE) + 1)
    })
    assert.equal(done.code, 0, done.stderr)
    const doc = json<{ outcome: string; steps: { step: string }[] }>(done)
    assert.deepEqual(
      doc.steps.map((s) => s.step),
      ['conclude', 'withdraw'],
    )
    const concluded = await rpc.getContractEvents({
      address: adjudicator,
      abi: Adjudicator.abi,
      eventName: 'Concluded',
      args: { channelId: id },
      fromBlock: 0n,
    })
    assert.equal(concluded.length, 1)
    assert.equal(concluded[0]!.args.version, 2n)
    assert.deepEqual(concluded[0]!.args.payouts, [parseEther('0.6'), parseEther('0.6')])
  })

  it('alice stops with SIGTERM (exit 0); her data dir opens again, and without a token her API turns away a foreign Host', async () => {
    const stopped = await kill('alice', 'SIGTERM')
    assert.equal(stopped.code, 0, stopped.logs.slice(-2000))
    // Started again without a token: it serves loopback callers only, whose Host names a loopback host.
    const node = await startNode('alice', false)
    const list = await chanvm(['channels', '--api', node.url, '--json'], {})
    assert.equal(list.code, 0, list.stderr)
    const all = json<Shown[]>(list)
    assert.equal(all.length, 2)
    assert.ok(all.every((c) => c.version === '2'))
    const rebound = await getWithHost(`${node.url}/v1/channels`, 'chanvm.example.com')
    assert.equal(rebound.status, 403)
    assert.equal((JSON.parse(rebound.body) as { error: { code: string } }).error.code, 'FORBIDDEN')
    assert.equal((await getWithHost(`${node.url}/v1/channels`, new URL(node.url).host)).status, 200)
    const stoppedAgain = await kill('alice', 'SIGTERM')
    assert.equal(stoppedAgain.code, 0)
  })
})
