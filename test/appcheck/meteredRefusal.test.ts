// The metered deal's refusal path on anvil: the consumer deposits, both co-sign a first payment,
// then the consumer refuses to co-sign the next one. The provider forces it on chain with the
// meter's signed readings, the dispute times out, and each side withdraws to the wei: the provider
// what the readings made due, the consumer the rest of its deposit.
import assert from 'node:assert/strict'
import { createTestClient, http } from 'viem'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { createAdjudicatorClient } from '../../engine/adjudicator/createAdjudicatorClient.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import { startAnvil, type Anvil } from '../../engine/chain/startAnvil.ts'
import { getChannelId, signState, type ChannelParams, type State } from '../../engine/channel/index.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { runTransition } from '../../engine/sandbox/runTransition.ts'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { meteredArtifact, meteredCodec, meterKey } from './meteredSubject.ts'

describe('metered payments: a refused payment forced on chain with the meter’s readings', function () {
  this.timeout(120_000)
  let anvil: Anvil
  before(async () => {
    anvil = await startAnvil()
  })
  after(async () => {
    await anvil?.stop()
  })

  it('pays the provider exactly what the readings made due, and refunds the consumer the rest', async () => {
    const art = meteredArtifact()
    const codec = meteredCodec(art.abi)
    const [deployer, consumerAcct, providerAcct] = anvil.accounts
    assert(deployer && consumerAcct && providerAcct)
    const d = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: deployer.privateKey,
      apps: [{ contractName: 'Metered', bytecode: art.bytecode }],
    })
    const metered = d.apps.Metered
    assert(metered)
    const client = (privateKey: `0x${string}`) =>
      createAdjudicatorClient({
        rpcUrl: anvil.rpcUrl,
        address: d.adjudicator.address,
        privateKey,
        chainId: anvil.chainId,
      })
    const consumer = await client(consumerAcct.privateKey)
    const provider = await client(providerAcct.privateKey)
    const params: ChannelParams = {
      chainId: BigInt(anvil.chainId),
      adjudicator: d.adjudicator.address,
      participants: [consumerAcct.address, providerAcct.address],
      app: metered.address,
      appCodeHash: metered.codeHash,
      challengeDuration: 100n,
      nonce: 1n,
    }
    const channelId = getChannelId(params)
    const cosign = (s: State) => [
      signState(params, s, consumerAcct.privateKey),
      signState(params, s, providerAcct.privateKey),
    ]
    const opening: State = {
      channelId,
      version: 0n,
      balances: [600_000n, 0n],
      appData: codec.encodeData({
        consumer: 0,
        provider: 1,
        meter: getSignerId(meterKey),
        pricePerUnit: 1_000n,
        cap: 500_000n,
        closeGrace: 60n,
        lastSequence: 0n,
        lastReadingAt: 0n,
        units: 0n,
        paid: 0n,
      }),
      isFinal: false,
    }
    await deposit(consumer, { channelId, participant: consumerAcct.address, amount: 600_000n })

    // Off chain: the first payment (10 s of service) is co-signed.
    const sandbox = await createSandbox()
    const now = (await consumer.publicClient.getBlock()).timestamp
    const env = { blockNumber: 1n, timestamp: now }
    const first = await runTransition(sandbox, {
      params,
      from: opening,
      mover: 0n,
      action: codec.pay(params.chainId, 1n, [10n], now),
      env,
      appCode: art.deployedBytecode,
    })
    assert(first.ok, first.ok ? '' : first.message)
    assert.deepEqual(first.state.balances, [590_000n, 10_000n])
    const v1 = first.state

    // The meter reports 70 s in all; the consumer refuses to co-sign the payment. The provider
    // forces it from the co-signed v1 (registered in the same call) with the meter's readings.
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    await test.increaseTime({ seconds: 5 })
    await test.mine({ blocks: 1 })
    const at = (await provider.publicClient.getBlock()).timestamp
    const action = codec.pay(params.chainId, 2n, [40n, 70n], at)
    const forced = await forceProgress(provider, {
      params,
      from: v1,
      fromSignatures: cosign(v1),
      mover: 1n,
      action,
      moverSignature: signMove(params, v1, 1n, action, providerAcct.privateKey),
      appAbi: art.abi,
    })
    assert.deepEqual(forced.state.balances, [530_000n, 70_000n])
    assert.equal(codec.decodeData(forced.state.appData).units, 70n)

    // Nobody answers; after the challenge duration the forced state pays out.
    await test.increaseTime({ seconds: 101 })
    await test.mine({ blocks: 1 })
    await conclude(provider, { params, state: forced.state })
    assert.equal(await getWithdrawable(provider, providerAcct.address), 70_000n)
    assert.equal(await getWithdrawable(consumer, consumerAcct.address), 530_000n)
  })
})
