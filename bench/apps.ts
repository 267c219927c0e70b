import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { escrowActions, escrowApp, initialEscrowData } from '../apps/escrow/escrowClient.ts'
import {
  deliveryAnswer,
  initialTvDeliveryData,
  tvDeliveryActions,
  tvDeliveryApp,
} from '../apps/tvDelivery/tvDeliveryClient.ts'
import {
  coldChainActions,
  coldChainApp,
  initialColdChainData,
  temperatureReading,
} from '../apps/coldChain/coldChainClient.ts'
import { getChannelId } from '../engine/channel/getChannelId.ts'
import type { ChannelParams, Env, State } from '../engine/channel/types.ts'
import { createParty, type Party, type UpdateResult } from '../engine/protocol/createParty.ts'
import { createKeySigner } from '../engine/crypto/createKeySigner.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../engine/store/types.ts'
import { createMemoryHub } from '../engine/transport/createMemoryTransport.ts'
import { getSignerId } from '../oracles/message/getSignerId.ts'
import { signAnswer } from '../oracles/message/signAnswer.ts'
import { signReading } from '../oracles/message/signReading.ts'
import type { OracleKey } from '../oracles/message/types.ts'
import { testAddresses, testKeys } from '../test/support/channel.ts'

/** Co-signed steps per second of one app, off chain, through the whole protocol. */
export type AppBench = { cosignedStepsPerSec: number }

const CHAIN_ID = 31337n
const ADJUDICATOR: Address = '0x000000000000000000000000000000000000adad'
const APP: Address = '0x00000000000000000000000000000000000a4400'
const ENV: Env = { blockNumber: 100n, timestamp: 1_700_000_000n }
const THERMOMETER: OracleKey = { curve: 'p256', privateKey: `0x${'1c'.repeat(32)}` }
const ORACLES: readonly OracleKey[] = [
  { curve: 'secp256k1', privateKey: testKeys[3] as Hex },
  { curve: 'p256', privateKey: `0x${'2d'.repeat(32)}` },
  { curve: 'secp256k1', privateKey: `0x${'4b'.repeat(32)}` },
]

function channel(
  codeHash: Hex,
  appData: Hex,
  balances: readonly bigint[],
  nonce: bigint,
): { params: ChannelParams; channelId: Hex; initial: State } {
  const params: ChannelParams = {
    chainId: CHAIN_ID,
    adjudicator: ADJUDICATOR,
    participants: [testAddresses[0] as Address, testAddresses[1] as Address],
    app: APP,
    appCodeHash: codeHash,
    challengeDuration: 60n,
    nonce,
  }
  const channelId = getChannelId(params)
  return {
    params,
    channelId,
    initial: { channelId, version: 0n, balances: [...balances], appData, isFinal: false },
  }
}

function check(r: UpdateResult, what: string): void {
  if (!r.ok)
    throw new Error(
      `bench: ${what} failed: ${r.reason}${r.reason === 'step-rejected' ? ` (${r.step.message})` : ''}`,
    )
}

/**
 * Co-signed steps per second, off chain, for each of the three deals: two parties created with
 * `createParty` in this process, talking over the in-memory hub, each with its own SQLite store
 * (WAL, synchronous=FULL) in a temporary folder, each with its own sandbox. Every step is proposed,
 * re-run by the peer in its sandbox, signed by both and stored by both.
 *
 * - escrow: FUND and RELEASE by the payer, alternating, on one channel.
 * - tvDelivery: one purchase per channel, PAY then CLAIM with 2 of 3 oracle answers (secp256k1 +
 *   P-256); channel opening is not timed.
 * - coldChain: one policy, one premium, then REPORT steps each carrying one in-range reading of a
 *   P-256 thermometer (the steady state of a trip).
 *
 * @example
 * ```ts
 * const r = await benchApps({ steps: 200 })
 * console.log(r.coldChain?.cosignedStepsPerSec)
 * ```
 */
export async function benchApps(
  opts: { steps?: number; log?: (s: string) => void } = {},
): Promise<Record<string, AppBench>> {
  const steps = Math.max(2, opts.steps ?? 300)
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`))
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-apps-'))
  let run = 0
  const stores: ChannelStore[] = []
  const pair = async (): Promise<[Party, Party]> => {
    run++
    const hub = createMemoryHub()
    const mk = async (i: 0 | 1) => {
      const store = createSqliteStore({ path: join(dir, `${run}-p${i}.db`) })
      stores.push(store)
      return createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i] as Address),
        store,
        sandbox: await createSandbox(),
        apps: [escrowApp, tvDeliveryApp, coldChainApp],
        clock: () => ENV,
        requireFunding: false, // no chain here: nothing to confirm deposits against
      })
    }
    return [await mk(0), await mk(1)]
  }
  const open = async (a: Party, b: Party, ch: { params: ChannelParams; initial: State }) => {
    await Promise.all([a.open(ch.params, ch.initial), b.open(ch.params, ch.initial)])
  }

  try {
    const out: Record<string, AppBench> = {}

    // ---- escrow
    {
      const [payer, payee] = await pair()
      const ch = channel(
        escrowApp.codeHash,
        initialEscrowData({ payer: 0, payee: 1, arbiter: testAddresses[2] as Address }),
        [10n ** 18n, 0n],
        1n,
      )
      await open(payer, payee, ch)
      const fund = escrowActions.fund(1n, ENV.timestamp + 3_600n)
      const release = escrowActions.release()
      for (let i = 0; i < 20; i++)
        check(await payer.update(ch.channelId, i % 2 === 0 ? fund : release), 'escrow warm-up')
      const t0 = performance.now()
      for (let i = 0; i < steps; i++)
        check(await payer.update(ch.channelId, i % 2 === 0 ? fund : release), 'escrow step')
      out.escrow = { cosignedStepsPerSec: steps / ((performance.now() - t0) / 1000) }
      log(`  apps: escrow ${out.escrow.cosignedStepsPerSec.toFixed(1)} co-signed steps/s`)
      await payer.close()
      await payee.close()
    }

    // ---- tvDelivery
    {
      const [buyer, seller] = await pair()
      const trackingId = 'BENCH-1Z999AA10123456784'
      const oracles = ORACLES.map((k) => getSignerId(k))
      const answers = [ORACLES[0], ORACLES[1]].map((key) =>
        signAnswer({
          chainId: CHAIN_ID,
          key: key as OracleKey,
          answer: deliveryAnswer({ trackingId, timestamp: ENV.timestamp - 60n }),
        }),
      )
      const appData = initialTvDeliveryData({
        buyer: 0,
        seller: 1,
        trackingId,
        oracles,
        quorum: 2,
        price: 600n,
        deadline: ENV.blockNumber + 1_000n,
      })
      const pay = tvDeliveryActions.pay()
      const claim = tvDeliveryActions.claim(answers)
      const purchases = Math.ceil(steps / 2)
      let timed = 0
      for (let i = 0; i < purchases + 5; i++) {
        const ch = channel(tvDeliveryApp.codeHash, appData, [1_000n, 0n], BigInt(i + 1))
        await open(buyer, seller, ch)
        const t0 = performance.now()
        check(await buyer.update(ch.channelId, pay), 'tvDelivery pay')
        await seller.waitForVersion(ch.channelId, 1n) // the seller acts once it holds the co-signed PAY
        check(await seller.update(ch.channelId, claim), 'tvDelivery claim')
        if (i >= 5) timed += performance.now() - t0 // the first 5 purchases warm up
      }
      out.tvDelivery = { cosignedStepsPerSec: (purchases * 2) / (timed / 1000) }
      log(`  apps: tvDelivery ${out.tvDelivery.cosignedStepsPerSec.toFixed(1)} co-signed steps/s`)
      await buyer.close()
      await seller.close()
    }

    // ---- coldChain
    {
      const [owner, insurer] = await pair()
      const device = getSignerId(THERMOMETER)
      const appData = initialColdChainData({
        owner: 0,
        insurer: 1,
        device,
        minValue: -25_000n,
        maxValue: -15_000n,
        runLength: 3,
        premium: 10n,
        insuredSum: 500n,
        periodSeconds: 86_400n,
        maxPeriods: 10n,
        claimWindow: 600n,
      })
      const ch = channel(coldChainApp.codeHash, appData, [100n, 1_000n], 1n)
      await open(owner, insurer, ch)
      check(await owner.update(ch.channelId, coldChainActions.payPremium()), 'coldChain premium')
      const warm = 20
      const reports = Array.from({ length: steps + warm }, (_, i) =>
        coldChainActions.report([
          signReading({
            chainId: CHAIN_ID,
            key: THERMOMETER,
            reading: temperatureReading({
              device,
              sequence: BigInt(i + 1),
              timestamp: ENV.timestamp,
              milliCelsius: -18_000n - BigInt(i % 50),
            }),
          }),
        ]),
      )
      for (let i = 0; i < warm; i++)
        check(await owner.update(ch.channelId, reports[i] as Hex), 'coldChain warm-up')
      const t0 = performance.now()
      for (let i = warm; i < steps + warm; i++)
        check(await owner.update(ch.channelId, reports[i] as Hex), 'coldChain report')
      out.coldChain = { cosignedStepsPerSec: steps / ((performance.now() - t0) / 1000) }
      log(`  apps: coldChain ${out.coldChain.cosignedStepsPerSec.toFixed(1)} co-signed steps/s`)
      await owner.close()
      await insurer.close()
    }
    return out
  } finally {
    for (const s of stores) await s.close().catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  }
}
