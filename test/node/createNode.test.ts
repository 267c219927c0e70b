// Two nodes in one process, each with its own data folder and keystore, on anvil and a real MQTT
// broker (aedes): opening and funding an escrow channel, steps through typed actions, typed errors
// for bad input, and a restart that brings back the channel and the watcher's place, refuting a
// stale state registered while the node was down.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { parseEther, type Hex } from 'viem'
import { coldChainActions, temperatureReading } from '../../apps/coldChain/coldChainClient.ts'
import { escrowActions, escrowApp } from '../../apps/escrow/escrowClient.ts'
import { ColdChainInsurance } from '../../contracts/generated/ColdChainInsurance.ts'
import { TvDelivery } from '../../contracts/generated/TvDelivery.ts'
import { deliveryAnswer } from '../../apps/tvDelivery/tvDeliveryClient.ts'
import { answerToEnvelope } from '../../oracles/message/answerToEnvelope.ts'
import { signAnswer } from '../../oracles/message/signAnswer.ts'
import { answerTopic } from '../../oracles/mqtt/answerTopic.ts'
import { deposit as depositTx } from '../../engine/adjudicator/deposit.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { register } from '../../engine/adjudicator/register.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { SignedState } from '../../engine/channel/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createNode, WATCHER_CHECKPOINT_FILE } from '../../node/createNode.ts'
import { createKeystore, readKeystore } from '../../node/keystore.ts'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { readingToEnvelope } from '../../oracles/message/readingToEnvelope.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import type { AppAction, ChanvmNode, NodeConfig, NodeEvent, OpenRequest } from '../../node/types.ts'
import { startAedes, startMosquitto } from '../oracles/brokers.ts'
import type { TestBroker } from '../oracles/brokers.ts'
import { startChainFixture, type ChainFixture, type Party } from '../support/anvilFixture.ts'
import { eventually } from '../scenarios/roles.ts'

type Running = { node: ChanvmNode; events: NodeEvent[] }

/** The error `p` rejects with; fails unless it is a ChanvmError with `code`. */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<ChanvmError> {
  try {
    await p
  } catch (e) {
    assert(e instanceof ChanvmError, `expected a ChanvmError, got ${String(e)}`)
    assert.equal(e.code, code, e.message)
    return e
  }
  assert.fail(`expected ${code}`)
}

const cursorIn = (dataDir: string): bigint => {
  const body = JSON.parse(readFileSync(join(dataDir, WATCHER_CHECKPOINT_FILE), 'utf8')) as {
    cursor: string | null
  }
  assert(body.cursor !== null, 'the checkpoint has a cursor')
  return BigInt(body.cursor)
}

const brokers: [string, () => Promise<TestBroker | { skip: string }>][] = [
  ['aedes', startAedes],
  ['mosquitto', startMosquitto],
]

for (const [brokerName, startBroker] of brokers)
  describe(`createNode: two nodes on anvil and ${brokerName}`, function () {
    this.timeout(120_000)
    let f: ChainFixture
    let broker: TestBroker
    let dir: string
    const configs: Record<'alice' | 'bob', NodeConfig> = {} as Record<'alice' | 'bob', NodeConfig>
    const running: Running[] = []
    let alice: Running
    let bob: Running
    let channelId: Hex
    let v1: SignedState
    let channelNonce: bigint
    const DEPOSIT = parseEther('1')
    const AMOUNT = parseEther('0.4')

    const start = async (who: 'alice' | 'bob'): Promise<Running> => {
      const config = configs[who]
      const signer = await readKeystore(config.keystore, `${who} passphrase`)
      const events: NodeEvent[] = []
      const node = await createNode({
        config,
        signer,
        onEvent: (e) => events.push(e),
        fundingTimeoutMs: 60_000,
      })
      const r = { node, events }
      running.push(r)
      return r
    }

    before(async function () {
      const b = await startBroker()
      if ('skip' in b) return this.skip()
      broker = b
      f = await startChainFixture()
      dir = mkdtempSync(join(tmpdir(), 'chanvm-node-'))
      const escrow = f.deployment.apps['Escrow']
      assert(escrow)
      for (const [who, party] of [
        ['alice', f.alice],
        ['bob', f.bob],
      ] as const) {
        const keystore = join(dir, `${who}.key.json`)
        writeFileSync(
          keystore,
          await createKeystore((party as Party).privateKey, `${who} passphrase`, { n: 1024 }),
        )
        configs[who] = {
          dataDir: join(dir, who),
          keystore,
          chain: {
            rpcUrl: f.anvil.rpcUrl,
            chainId: f.anvil.chainId,
            adjudicator: f.deployment.adjudicator.address,
            pollingIntervalMs: 100,
            apps: { escrow: escrow.address },
          },
          broker: { url: broker.url },
          responseTimeoutMs: 3_000,
          // Every step below also runs with peer messages started one per window.
          messagesPerTurn: 1,
        }
      }
      alice = await start('alice')
      bob = await start('bob')
    })

    after(async () => {
      for (const r of running) await r.node.close().catch(() => undefined)
      await broker?.stop()
      await f?.stop()
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    })

    const request = (role: 'first' | 'second', nonce: bigint): OpenRequest => ({
      app: 'escrow',
      counterparty: role === 'first' ? f.bob.address : f.alice.address,
      role,
      balances: [DEPOSIT, 0n],
      nonce,
      challengeDuration: 3_600n,
      terms: { arbiter: f.arbiter.address },
    })

    it('opens an escrow channel from both sides: co-signed, deposited and funded', async () => {
      const nonce = BigInt(Date.now())
      channelNonce = nonce
      // Alice sends her request twice at once: one deposit, two identical answers.
      const [a, b, again] = await Promise.all([
        alice.node.open(request('first', nonce)),
        bob.node.open(request('second', nonce)),
        alice.node.open(request('first', nonce)),
      ])
      channelId = a.channelId
      // The same channel, the same answer; the chain view is when each answer was read (the head
      // may move a block between them).
      const { chainView: _againRead, ...sameAgain } = again
      const { chainView: _firstRead, ...sameFirst } = a
      assert.deepEqual(sameAgain, sameFirst)
      assert.equal(b.channelId, channelId)
      for (const s of [a, b]) {
        assert.equal(s.app, 'escrow')
        assert.equal(s.phase, 'open')
        assert.equal(s.version, 0n)
        assert.deepEqual(s.balances, [DEPOSIT, 0n])
        assert.deepEqual(
          s.participants.map((p) => p.toLowerCase()),
          [f.alice.address.toLowerCase(), f.bob.address.toLowerCase()],
        )
      }
      assert.equal(a.me, 0)
      assert.equal(b.me, 1)
      assert.deepEqual(await getDeposits(f.carol.client, channelId, [f.alice.address, f.bob.address]), [
        DEPOSIT,
        0n,
      ])
      const deposits = alice.events.filter((e) => e.source === 'chain' && e.step === 'deposit')
      assert.equal(deposits.length, 1)
      const deposit = deposits[0]
      assert(deposit?.source === 'chain' && deposit.gasUsed > 0n, 'alice reports her deposit with its gas')
      assert.equal(alice.node.metrics().gasSpent, deposit.gasUsed)
      assert.equal(alice.node.metrics().channels, 1)
      assert(!bob.events.some((e) => e.source === 'chain'), 'bob has nothing to deposit and sends nothing')
    })

    it('funds and releases the escrow through typed actions: the payee holds the amount', async () => {
      const deadline = (await f.now()) + 3_600n
      const funded = await alice.node.act(channelId, {
        app: 'escrow',
        type: 'fund',
        amount: AMOUNT,
        deadline,
      })
      assert(
        funded.ok,
        JSON.stringify(funded, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
      )
      v1 = funded.signed
      assert.equal(v1.state.version, 1n)
      const released = await alice.node.act(channelId, { app: 'escrow', type: 'release' })
      assert(released.ok)
      assert.equal(released.signed.state.version, 2n)
      assert.deepEqual(released.signed.state.balances, [DEPOSIT - AMOUNT, AMOUNT])
      await bob.node.party.waitForVersion(channelId, 2n, 10_000)
      const seen = await bob.node.show(channelId)
      assert.equal(seen.version, 2n)
      assert.deepEqual(seen.balances, [DEPOSIT - AMOUNT, AMOUNT])
      assert.equal(seen.onChain?.status, 'open')
      assert.equal(alice.node.metrics().steps, 3, 'version 0, 1 and 2 committed')
      assert.equal(bob.node.metrics().steps, 3)
      const [listed] = await alice.node.list()
      assert.equal(listed?.channelId, channelId)
      assert.equal(listed?.version, 2n)
    })

    it('a malformed action, another app, an unknown channel or bad terms: typed errors that change nothing', async () => {
      const before = await alice.node.show(channelId)
      const cases: [AppAction | Record<string, unknown>, string][] = [
        [{ app: 'tv-delivery', type: 'pay' }, 'INVALID_ARGUMENT'],
        [{ app: 'escrow', type: 'fund', amount: -1n, deadline: 1n }, 'INVALID_ARGUMENT'],
        [{ app: 'escrow', type: 'fund', amount: 'five', deadline: 1n }, 'INVALID_ARGUMENT'],
        [{ app: 'escrow', action: 'fund', args: { amount: 5, deadline: -1 } }, 'INVALID_ARGUMENT'],
        [{ app: 'escrow', type: 'ruling', toPayee: true, arbiterSignature: '0x123' }, 'INVALID_ARGUMENT'],
        [{ app: 'escrow', type: 'explode' }, 'INVALID_ARGUMENT'],
      ]
      for (const [action, code] of cases)
        await rejectsWith(alice.node.act(channelId, action as AppAction), code)
      const unknown = `0x${'12'.repeat(32)}` as Hex
      await rejectsWith(alice.node.act(unknown, { app: 'escrow', type: 'release' }), 'CHANNEL_NOT_FOUND')
      await rejectsWith(alice.node.show(unknown), 'CHANNEL_NOT_FOUND')
      await rejectsWith(alice.node.act('0x12' as Hex, { app: 'escrow', type: 'release' }), 'INVALID_ARGUMENT')
      const badTerms = { ...request('first', 99n), terms: { arbiter: f.arbiter.address, fee: 1 } }
      assert.match((await rejectsWith(alice.node.open(badTerms), 'INVALID_ARGUMENT')).message, /terms\.fee/)
      await rejectsWith(alice.node.open({ ...request('first', 99n), app: 'cold-chain' }), 'CONFIG')
      const after = await alice.node.show(channelId)
      assert.equal(after.version, before.version)
      assert.deepEqual(after.balances, before.balances)
      assert.equal((await alice.node.list()).length, 1, 'no channel was added')
      assert.equal(alice.node.metrics().steps, 3, 'no step was taken')
      assert.equal((await bob.node.show(channelId)).version, 2n)
    })

    it('a step the peer does not answer ends in peer-timeout and is reported, not forced', async () => {
      const cursorBefore = cursorIn(configs.bob.dataDir)
      await bob.node.close()
      const cursorClosed = cursorIn(configs.bob.dataDir)
      assert(cursorClosed >= cursorBefore && cursorClosed > 0n, 'the watcher place is saved on close')
      const deadline = (await f.now()) + 3_600n
      const r = await alice.node.act(channelId, { app: 'escrow', type: 'fund', amount: 1n, deadline })
      assert(!r.ok && r.reason === 'peer-timeout')
      assert(
        alice.events.some((e) => e.source === 'node' && /not co-signed in time/.test(e.message)),
        'the stall is reported',
      )
      const rec = await getChannelRecord(f.carol.client, channelId)
      assert.equal(rec.status, 'open', 'nothing went to chain')
    })

    it('after a restart the channel and the watcher place come back and a stale registration is refuted', async () => {
      // The payer turns cheater while bob is down: its node stops and it registers version 1.
      await alice.node.close()
      const cursorDown = cursorIn(configs.bob.dataDir)
      const escrow = f.deployment.apps['Escrow']
      assert(escrow)
      const params = f.escrowParams({ nonce: channelNonce, challengeDuration: 3_600n })
      assert.equal(getChannelId(params), channelId)
      const reg = await register(f.alice.client, { params, signed: v1 })
      assert(reg.blockNumber >= cursorDown, 'registered after the saved place')
      assert.equal((await getChannelRecord(f.carol.client, channelId)).version, 1n)

      bob = await start('bob')
      const [restored] = await bob.node.list()
      assert.equal(restored?.channelId, channelId)
      assert.equal(restored?.version, 2n)
      assert.deepEqual(restored?.balances, [DEPOSIT - AMOUNT, AMOUNT])
      const isRefuted = (e: NodeEvent) => e.source === 'watcher' && e.event.type === 'refuted'
      await eventually('bob refutes version 1 with version 2', () => bob.events.some(isRefuted), 30_000)
      assert.equal((await getChannelRecord(f.carol.client, channelId)).version, 2n)
      const refuted = bob.events.find((e) => e.source === 'watcher' && e.event.type === 'refuted')
      assert(refuted?.source === 'watcher' && refuted.event.type === 'refuted')
      assert.equal(refuted.event.staleVersion, 1n)
      assert.equal(refuted.event.version, 2n)
      await eventually('the refutation is counted', () => bob.node.metrics().gasSpent > 0n)
      assert.equal(bob.node.metrics().disputes, 1)
      await eventually(
        'the saved place moves past the registration',
        () => cursorIn(configs.bob.dataDir) > reg.blockNumber,
      )
      const shown = await bob.node.show(channelId)
      assert.equal(shown.onChain?.status, 'dispute')
      assert.equal(shown.onChain?.version, 2n)
      const plan = await bob.node.disputePlan(channelId)
      assert.equal(plan.ours.version, 2n)
      assert.equal(plan.held?.version, 2n)

      // The payer forces a move on the state held; bob's node re-runs it and takes it as its base.
      const held = await bob.node.party.latest(channelId)
      assert(held !== undefined)
      const action = escrowActions.fund(parseEther('0.1'), (await f.now()) + 3_600n)
      await forceProgress(f.alice.client, {
        params,
        from: held.state,
        mover: 0n,
        action,
        moverSignature: signMove(params, held.state, 0n, action, f.alice.privateKey),
        appAbi: escrowApp.abi,
      })
      await eventually(
        'bob adopts the forced state',
        async () => (await bob.node.party.base(channelId))?.version === 3n,
      )
      assert(bob.events.some((e) => e.source === 'party' && e.event.type === 'adopted'))
      assert(
        bob.events.some((e) => e.source === 'node' && /adopted the forced state version 3/.test(e.message)),
      )
      assert.equal((await bob.node.show(channelId)).version, 3n, 'show reports the base of the next step')

      // Once the challenge period is over the node concludes through its dispute step and pays the gas.
      await f.increaseTime(3_700n)
      const spent = bob.node.metrics().gasSpent
      const plan2 = await bob.node.disputePlan(channelId)
      assert.equal(plan2.next.step, 'conclude')
      await bob.node.disputeStep(channelId, { force: true })
      const concluded = bob.events.find((e) => e.source === 'chain' && e.step === 'conclude')
      assert(concluded?.source === 'chain' && concluded.gasUsed > 0n)
      assert.equal(bob.node.metrics().gasSpent, spent + concluded.gasUsed)
      assert.equal((await getChannelRecord(f.carol.client, channelId)).status, 'concluded')
    })

    it('a node closed while it waits for funding ends the open; after a restart the deposit still funds the channel', async () => {
      alice = await start('alice')
      const nonce = BigInt(Date.now()) + 1n
      const req = (role: 'first' | 'second'): OpenRequest => ({
        ...request(role, nonce),
        balances: [0n, DEPOSIT],
      })
      const opens = Promise.allSettled([
        alice.node.open(req('first')),
        bob.node.open({ ...req('second'), deposit: false }),
      ])
      const id = getChannelId(f.escrowParams({ nonce, challengeDuration: 3_600n }))
      const phase = async (n: ChanvmNode) => (await n.list()).find((c) => c.channelId === id)?.phase
      await eventually(
        'both co-signed version 0 and wait for funding',
        async () => (await phase(alice.node)) === 'funding' && (await phase(bob.node)) === 'funding',
      )
      await Promise.all([alice.node.close(), bob.node.close()])
      for (const r of await opens) {
        assert(r.status === 'rejected', 'an open waiting for funding ends when its node closes')
        assert(r.reason instanceof ChanvmError && r.reason.code === 'TRANSPORT_CLOSED', String(r.reason))
      }
      await rejectsWith(alice.node.open(req('first')), 'TRANSPORT_CLOSED')
      await rejectsWith(alice.node.act(id, { app: 'escrow', type: 'release' }), 'TRANSPORT_CLOSED')
      await rejectsWith(alice.node.show(id), 'TRANSPORT_CLOSED')
      await rejectsWith(alice.node.list(), 'TRANSPORT_CLOSED')

      alice = await start('alice')
      const waiting = (await alice.node.list()).find((c) => c.channelId === id)
      assert.equal(waiting?.phase, 'funding')
      const early = await alice.node.act(id, { app: 'escrow', type: 'release' })
      assert(!early.ok && early.reason === 'unfunded', 'no step before every participant funded')
      await depositTx(f.bob.client, { channelId: id, participant: f.bob.address, amount: DEPOSIT })
      await eventually(
        'the deposit funds the channel',
        async () => (await alice.node.show(id)).phase === 'open',
      )
    })
  })

describe('createNode: verified readings and answers from the broker feed reports and claims', function () {
  this.timeout(120_000)
  let f: ChainFixture
  let broker: TestBroker
  let dir: string
  const nodes: ChanvmNode[] = []

  before(async () => {
    f = await startChainFixture()
    broker = await startAedes()
    dir = mkdtempSync(join(tmpdir(), 'chanvm-node-cc-'))
  })
  after(async () => {
    for (const n of nodes) await n.close().catch(() => undefined)
    await broker?.stop()
    await f?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('a configuration the chain or the environment contradicts stops the start with a CONFIG error', async () => {
    const base: NodeConfig = {
      dataDir: join(dir, 'bad'),
      keystore: join(dir, 'bad.json'),
      chain: { rpcUrl: f.anvil.rpcUrl, chainId: 1, adjudicator: f.deployment.adjudicator.address },
      broker: { url: broker.url },
    }
    const signer = createKeySigner(f.carol.privateKey)
    const wrongChain = await rejectsWith(createNode({ config: base, signer }), 'CONFIG')
    assert.match(wrongChain.message, /serves chain 31337/)
    const config = {
      ...base,
      chain: { ...base.chain, chainId: f.anvil.chainId },
      broker: { url: broker.url, passwordEnv: 'NO_SUCH_PASSWORD' },
    }
    assert.match(
      (await rejectsWith(createNode({ config, signer, env: {} }), 'CONFIG')).message,
      /NO_SUCH_PASSWORD/,
    )
    for (const threads of ['abc', '1.5', '-1', '65'])
      assert.match(
        (
          await rejectsWith(
            createNode({
              config: { ...config, broker: { url: broker.url } },
              signer,
              env: { CHANVM_CRYPTO_THREADS: threads },
            }),
            'CONFIG',
          )
        ).message,
        /CHANVM_CRYPTO_THREADS .*whole number from 0 to 64/,
      )
    // A config object that skipped the file's schema: the party refuses the window at its start.
    for (const messagesPerTurn of [0, 1.5])
      assert.match(
        (
          await rejectsWith(
            createNode({ config: { ...config, broker: { url: broker.url }, messagesPerTurn }, signer }),
            'CONFIG',
          )
        ).message,
        /messagesPerTurn is/,
      )
    const file = join(dir, 'a-file')
    writeFileSync(file, '')
    const notAFolder = { ...config, broker: { url: broker.url }, dataDir: join(file, 'data') }
    assert.match(
      (await rejectsWith(createNode({ config: notAFolder, signer }), 'CONFIG')).message,
      /data folder/,
    )
  })

  it('the owner reports three readings out of range that its node verified and is paid the insured sum', async () => {
    const [deployer, , , , , ownerAcct, insurerAcct] = f.anvil.accounts
    assert(deployer && ownerAcct && insurerAcct)
    const d = await deployContracts({
      rpcUrl: f.anvil.rpcUrl,
      privateKey: deployer.privateKey,
      apps: [ColdChainInsurance],
    })
    const contract = d.apps['ColdChainInsurance']
    assert(contract)
    const device = createOracleKey('p256')
    const deviceId = getSignerId(device)
    const config = (who: string, inputs: NodeConfig['inputs']): NodeConfig => ({
      dataDir: join(dir, who),
      keystore: join(dir, `${who}.json`),
      chain: {
        rpcUrl: f.anvil.rpcUrl,
        chainId: f.anvil.chainId,
        adjudicator: d.adjudicator.address,
        pollingIntervalMs: 100,
        apps: { 'cold-chain': contract.address },
      },
      broker: { url: broker.url },
      ...(inputs === undefined ? {} : { inputs }),
      responseTimeoutMs: 3_000,
    })
    const owner = await createNode({
      config: config('owner', [{ topic: 'chanvm/v1/devices/+/readings', signers: [deviceId] }]),
      signer: createKeySigner(ownerAcct.privateKey),
    })
    nodes.push(owner)
    const insurer = await createNode({
      config: config('insurer', undefined),
      signer: createKeySigner(insurerAcct.privateKey),
      // The insurer's policy: it signs no close of the policy.
      approve: (step) =>
        step.action === coldChainActions.close() ? 'the insurer keeps the policy open' : true,
    })
    nodes.push(insurer)
    const ONE = parseEther('1')
    const PREMIUM = parseEther('0.01')
    const terms = {
      device: deviceId,
      minValue: -25_000,
      maxValue: -15_000,
      runLength: 3,
      premium: PREMIUM.toString(),
      insuredSum: ONE.toString(),
      periodSeconds: 3_600,
      maxPeriods: 24,
      claimWindow: 600,
    }
    const base: Omit<OpenRequest, 'counterparty' | 'role'> = {
      app: 'cold-chain',
      balances: [ONE, 2n * ONE],
      nonce: 1n,
      challengeDuration: 600n,
      terms,
    }
    const [opened] = await Promise.all([
      owner.open({ ...base, counterparty: insurerAcct.address, role: 'first' }),
      insurer.open({ ...base, counterparty: ownerAcct.address, role: 'second' }),
    ])
    const channelId = opened.channelId
    const client = f.carol.client
    assert.deepEqual(
      await getDeposits({ ...client, address: d.adjudicator.address }, channelId, [
        ownerAcct.address,
        insurerAcct.address,
      ]),
      [ONE, 2n * ONE],
      'both deposited their opening balance',
    )
    const premium = await owner.act(channelId, { app: 'cold-chain', type: 'premium' })
    assert(premium.ok)
    await rejectsWith(owner.act(channelId, { app: 'cold-chain', type: 'report' }), 'INVALID_ARGUMENT')
    const close = await owner.act(channelId, { app: 'cold-chain', type: 'close' })
    assert(!close.ok && close.reason === 'peer-rejected', 'the insurer refuses to sign the close')
    assert.deepEqual(insurer.metrics().refusals, { refused: 1 })
    assert.deepEqual(owner.metrics().refusals, { 'peer-refused': 1 })

    const start = await f.now()
    const mqttClient = await mqtt.connectAsync(broker.url)
    try {
      const stranger = createOracleKey('secp256k1')
      const foreign = signReading({
        chainId: BigInt(f.anvil.chainId),
        key: stranger,
        reading: temperatureReading({
          device: getSignerId(stranger),
          sequence: 1n,
          timestamp: start,
          milliCelsius: 0n,
        }),
      })
      await mqttClient.publishAsync(
        readingTopic(getSignerId(stranger)),
        JSON.stringify(readingToEnvelope(foreign)),
        { qos: 1 },
      )
      for (const sequence of [1n, 2n, 3n]) {
        const reading = temperatureReading({
          device: deviceId,
          sequence,
          timestamp: start + sequence,
          milliCelsius: -2_000n,
        })
        const signed = signReading({ chainId: BigInt(f.anvil.chainId), key: device, reading })
        await mqttClient.publishAsync(readingTopic(deviceId), JSON.stringify(readingToEnvelope(signed)), {
          qos: 1,
        })
      }
    } finally {
      await mqttClient.endAsync()
    }
    await eventually('the owner verified three readings', () => owner.metrics().readings['accepted'] === 3)
    await eventually('the stranger was refused', () => (owner.metrics().readings['unknown-signer'] ?? 0) >= 1)
    await f.increaseTime(10n)
    const report = await owner.act(channelId, { app: 'cold-chain', type: 'report' })
    assert(report.ok, report.ok ? '' : report.reason)
    assert.deepEqual(report.signed.state.balances, [ONE - PREMIUM + ONE, 2n * ONE + PREMIUM - ONE])
    await insurer.party.waitForVersion(channelId, report.signed.state.version, 10_000)
    assert.deepEqual((await insurer.show(channelId)).balances, report.signed.state.balances)
    assert.equal(owner.metrics().steps, 3, 'version 0, the premium and the report')
  })

  it('the seller claims with a quorum of oracle answers its node verified from the broker', async () => {
    const [deployer, , , , , , , buyerAcct, sellerAcct] = f.anvil.accounts
    assert(deployer && buyerAcct && sellerAcct)
    const d = await deployContracts({
      rpcUrl: f.anvil.rpcUrl,
      privateKey: deployer.privateKey,
      apps: [TvDelivery],
    })
    const contract = d.apps['TvDelivery']
    assert(contract)
    const oracles = [createOracleKey('secp256k1'), createOracleKey('p256'), createOracleKey('secp256k1')]
    const ids = oracles.map((k) => getSignerId(k))
    const config = (who: string, inputs: NodeConfig['inputs']): NodeConfig => ({
      dataDir: join(dir, who),
      keystore: join(dir, `${who}.json`),
      chain: {
        rpcUrl: f.anvil.rpcUrl,
        chainId: f.anvil.chainId,
        adjudicator: d.adjudicator.address,
        pollingIntervalMs: 100,
        apps: { 'tv-delivery': contract.address },
      },
      broker: { url: broker.url },
      ...(inputs === undefined ? {} : { inputs }),
      responseTimeoutMs: 3_000,
    })
    const buyer = await createNode({
      config: config('buyer', undefined),
      signer: createKeySigner(buyerAcct.privateKey),
    })
    nodes.push(buyer)
    const seller = await createNode({
      config: config('seller', [{ topic: 'chanvm/v1/oracles/+/answers', signers: ids }]),
      signer: createKeySigner(sellerAcct.privateKey),
    })
    nodes.push(seller)
    const PRICE = parseEther('0.5')
    const head = await f.bob.client.publicClient.getBlockNumber()
    const base: Omit<OpenRequest, 'counterparty' | 'role'> = {
      app: 'tv-delivery',
      balances: [parseEther('1'), 0n],
      nonce: 1n,
      challengeDuration: 600n,
      terms: {
        trackingId: 'TV-7',
        oracles: ids,
        quorum: 2,
        price: PRICE.toString(),
        deadline: String(head + 1_000n),
      },
    }
    const [opened] = await Promise.all([
      buyer.open({ ...base, counterparty: sellerAcct.address, role: 'first' }),
      seller.open({ ...base, counterparty: buyerAcct.address, role: 'second' }),
    ])
    const channelId = opened.channelId
    const paid = await buyer.act(channelId, { app: 'tv-delivery', type: 'pay' })
    assert(paid.ok)
    await seller.party.waitForVersion(channelId, 1n, 10_000)
    await rejectsWith(seller.act(channelId, { app: 'tv-delivery', type: 'claim' }), 'INVALID_ARGUMENT')

    const timestamp = BigInt(Math.floor(Date.now() / 1000)) - 5n
    const publisher = await mqtt.connectAsync(broker.url)
    try {
      for (const key of oracles.slice(0, 2)) {
        const signed = signAnswer({
          chainId: BigInt(f.anvil.chainId),
          key,
          answer: deliveryAnswer({ trackingId: 'TV-7', timestamp }),
        })
        const id = getSignerId(key)
        await publisher.publishAsync(answerTopic(id), JSON.stringify(answerToEnvelope(signed, id)), {
          qos: 1,
        })
      }
    } finally {
      await publisher.endAsync()
    }
    await eventually('the seller verified two answers', () => seller.metrics().readings['accepted'] === 2)
    const claim = await seller.act(channelId, { app: 'tv-delivery', type: 'claim' })
    assert(claim.ok, claim.ok ? '' : claim.reason)
    assert.deepEqual(claim.signed.state.balances, [parseEther('1') - PRICE, PRICE])
    assert.equal(claim.signed.state.isFinal, true)
    await buyer.party.waitForVersion(channelId, 2n, 10_000)
  })
})
