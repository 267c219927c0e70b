/**
 * Gas per Adjudicator operation, measured from receipts on a fresh anvil (hardfork osaka): a
 * two-party channel of the loop app (the first built-in app whose benchmark inputs have a loop:
 * the escrow), each figure the `gasUsed` of one transaction (21,000 base and
 * calldata included). `npm run bench -- --json` puts the result under `gas`.
 */
import { deployLoopApp } from './deployLoopApp.ts'
import { conclude } from '../engine/adjudicator/conclude.ts'
import { concludeFinal } from '../engine/adjudicator/concludeFinal.ts'
import { createAdjudicatorClient } from '../engine/adjudicator/createAdjudicatorClient.ts'
import { deposit } from '../engine/adjudicator/deposit.ts'
import { forceProgress } from '../engine/adjudicator/forceProgress.ts'
import { register } from '../engine/adjudicator/register.ts'
import { signMove } from '../engine/adjudicator/signMove.ts'
import { withdraw } from '../engine/adjudicator/withdraw.ts'
import { startAnvil } from '../engine/chain/startAnvil.ts'
import {
  getChannelId,
  signState,
  type ChannelParams,
  type SignedState,
  type State,
} from '../engine/channel/index.ts'
import { createTestClient, http, type Hex } from 'viem'

/**
 * Measures deploy, deposit (the first into a channel, alice's share), depositSecond (bob's share
 * into the same channel), register (open a dispute), registerRefute (replace it with a higher
 * version), forceProgress (the app's `forced` step, the escrow's FUND, on the state held), forceProgressFromCoSigned (the same
 * step registering its co-signed base in the same call, on an open channel), conclude,
 * concludeFinal and withdraw.
 *
 * @example
 * ```ts
 * const gas = await benchGas()
 * console.log(gas.forceProgress)
 * ```
 */
export async function benchGas(): Promise<Record<string, number>> {
  const anvil = await startAnvil()
  try {
    const { funder: deployer, a, b, app, bench, deployment: d, appAddress } = await deployLoopApp(anvil)
    const ctx = (timestamp: bigint) => ({
      chainId: BigInt(anvil.chainId),
      env: { blockNumber: 0n, timestamp },
      third: deployer.address,
    })
    const appData = app.initialAppData(bench.open(ctx(0n)).terms)
    const client = (key: Hex) =>
      createAdjudicatorClient({
        rpcUrl: anvil.rpcUrl,
        address: d.adjudicator.address,
        privateKey: key,
        chainId: anvil.chainId,
      })
    const alice = await client(a.privateKey)
    const bob = await client(b.privateKey)
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    let nonce = 0n
    const params = (): ChannelParams => ({
      chainId: BigInt(anvil.chainId),
      adjudicator: d.adjudicator.address,
      participants: [a.address, b.address],
      app: appAddress,
      appCodeHash: app.artifact.codeHash,
      challengeDuration: 3_600n,
      nonce: ++nonce,
    })
    const state = (p: ChannelParams, version: bigint, isFinal = false): State => ({
      channelId: getChannelId(p),
      version,
      balances: [6n * 10n ** 17n, 4n * 10n ** 17n],
      appData,
      isFinal,
    })
    const cosign = (p: ChannelParams, s: State): SignedState => ({
      state: s,
      signatures: [signState(p, s, a.privateKey), signState(p, s, b.privateKey)],
    })
    // Each participant deposits its initial balance (600 and 400 finney), as the protocol's funding phase does.
    const fundAlice = (p: ChannelParams) =>
      deposit(alice, { channelId: getChannelId(p), participant: a.address, amount: 6n * 10n ** 17n })
    const fundBob = (p: ChannelParams) =>
      deposit(bob, { channelId: getChannelId(p), participant: b.address, amount: 4n * 10n ** 17n })
    const fund = async (p: ChannelParams) => [await fundAlice(p), await fundBob(p)] as const
    const gas: Record<string, number> = { deploy: Number(d.adjudicator.gasUsed) }

    // Dispute path: deposit, register, refute, force one step, conclude, withdraw.
    const p1 = params()
    const [first, second] = await fund(p1)
    gas.deposit = Number(first.gasUsed)
    gas.depositSecond = Number(second.gasUsed)
    gas.register = Number((await register(bob, { params: p1, signed: cosign(p1, state(p1, 1n)) })).gasUsed)
    const v2 = state(p1, 2n)
    gas.registerRefute = Number((await register(alice, { params: p1, signed: cosign(p1, v2) })).gasUsed)
    const block = await alice.publicClient.getBlock()
    const forcedStep = bench.forced?.(ctx(block.timestamp)) ?? bench.loop(ctx(block.timestamp))[0]
    if (forcedStep === undefined) throw new Error(`${app.name}: no step to force`)
    const action = app.encodeAction(forcedStep.action, forcedStep.args, {
      base: v2,
      channelId: getChannelId(p1),
      inputs: { answers: () => [], readings: () => [] },
    })
    const forced = await forceProgress(alice, {
      params: p1,
      from: v2,
      mover: 0n,
      action,
      moverSignature: signMove(p1, v2, 0n, action, a.privateKey),
    })
    gas.forceProgress = Number(forced.gasUsed)
    await test.increaseTime({ seconds: 3_600 })
    await test.mine({ blocks: 1 })
    gas.conclude = Number((await conclude(bob, { params: p1, state: forced.state })).gasUsed)
    gas.withdraw = Number((await withdraw(alice)).gasUsed)

    // forceProgress that registers its co-signed base in the same call.
    const p2 = params()
    await fund(p2)
    const v5 = state(p2, 5n)
    const signed5 = cosign(p2, v5)
    const r = await forceProgress(alice, {
      params: p2,
      from: v5,
      fromSignatures: signed5.signatures,
      mover: 0n,
      action,
      moverSignature: signMove(p2, v5, 0n, action, a.privateKey),
    })
    gas.forceProgressFromCoSigned = Number(r.gasUsed)

    // Cooperative close.
    const p3 = params()
    await fund(p3)
    gas.concludeFinal = Number(
      (await concludeFinal(bob, { params: p3, signed: cosign(p3, state(p3, 9n, true)) })).gasUsed,
    )
    return gas
  } finally {
    await anvil.stop()
  }
}
