import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { builtInBenches } from '../apps/builtInBenches.ts'
import type { BenchContext, BenchStep } from '../apps/types.ts'
import type { ChannelParams, Env, State } from '../engine/channel/types.ts'
import { createParty, type Party, type UpdateResult } from '../engine/protocol/createParty.ts'
import { createKeySigner } from '../engine/crypto/createKeySigner.ts'
import { createSandbox } from '../engine/sandbox/createSandbox.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import type { ChannelStore } from '../engine/store/types.ts'
import { createMemoryHub } from '../engine/transport/createMemoryTransport.ts'
import { testAddresses, testKeys } from '../test/support/channel.ts'
import { appKey } from './appKey.ts'
import { appCodeOf, benchChannel } from './benchChannel.ts'

/** Co-signed steps per second of one app, off chain, through the whole protocol. */
export type AppBench = { cosignedStepsPerSec: number }

const ENV: Env = { blockNumber: 100n, timestamp: 1_700_000_000n }
const CTX: BenchContext = { chainId: 31337n, env: ENV, third: testAddresses[2] as Address }

function check(r: UpdateResult, what: string): void {
  if (!r.ok)
    throw new Error(
      `bench: ${what} failed: ${r.reason}${r.reason === 'step-rejected' ? ` (${r.step.message})` : ''}`,
    )
}

/**
 * The steps of a run, channel by channel: `count` steps of the app's `step` (a new channel
 * whenever one is done), each channel's `setup` first, built before anything is timed.
 */
function planOf(
  bench: {
    step: (i: number, ctx: BenchContext) => BenchStep | undefined
    setup?: (ctx: BenchContext) => readonly BenchStep[]
  },
  count: number,
): { setup: readonly BenchStep[]; steps: BenchStep[] }[] {
  const channels: { setup: readonly BenchStep[]; steps: BenchStep[] }[] = []
  let left = count
  while (left > 0) {
    const steps: BenchStep[] = []
    for (let i = 0; left > 0; i++) {
      const s = bench.step(i, CTX)
      if (s === undefined) break
      steps.push(s)
      left--
    }
    if (steps.length === 0) throw new Error('bench: an app whose channel takes no step')
    channels.push({ setup: bench.setup?.(CTX) ?? [], steps })
  }
  return channels
}

/**
 * Co-signed steps per second, off chain, for each built-in app that declares benchmark inputs (its
 * folder's `bench.ts`), keyed by its name in camel case: two parties created with `createParty` in
 * this process, talking over the in-memory hub, each with its own SQLite store (WAL,
 * synchronous=FULL) in a temporary folder, each with its own sandbox. Every step is proposed,
 * re-run by the peer in its sandbox, signed by both and stored by both; a step by the other party
 * waits until it holds the state before it. The app's steps are built before timing; its warm-up
 * steps, each channel's setup steps and the opening of channels are not timed.
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
  const pair = async (apps: Parameters<typeof createParty>[0]['apps']): Promise<[Party, Party]> => {
    run++
    const hub = createMemoryHub()
    const mk = async (i: 0 | 1) => {
      const store = createSqliteStore({ path: join(dir, `${run}-p${i}.db`), exclusive: true })
      stores.push(store)
      return createParty({
        signer: createKeySigner(testKeys[i]!),
        transport: hub.connect(testAddresses[i] as Address),
        store,
        sandbox: await createSandbox(),
        apps,
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
    for (const { app, bench } of await builtInBenches()) {
      const key = appKey(app.name)
      const parties = await pair([appCodeOf(app)])
      const warm = bench.warmUp ?? 20
      const plan = planOf(bench, warm + steps)
      let done = 0
      let timed = 0
      let nonce = 0n
      for (const channel of plan) {
        const ch = benchChannel(
          app,
          bench,
          CTX,
          [testAddresses[0] as Address, testAddresses[1] as Address],
          ++nonce,
        )
        await open(parties[0], parties[1], ch)
        let version = 0n
        let last: 0 | 1 = 0
        const take = async (s: BenchStep) => {
          // A party acts once it holds the co-signed state the other one made.
          if (s.by !== last) await parties[s.by].waitForVersion(ch.channelId, version)
          check(await parties[s.by].update(ch.channelId, s.action), `${app.name} step`)
          version++
          last = s.by
        }
        for (const s of channel.setup) await take(s)
        for (const s of channel.steps) {
          const t0 = performance.now()
          await take(s)
          if (done >= warm) timed += performance.now() - t0
          done++
        }
      }
      out[key] = { cosignedStepsPerSec: steps / (timed / 1000) }
      log(`  apps: ${key} ${out[key].cosignedStepsPerSec.toFixed(1)} co-signed steps/s`)
      await parties[0].close()
      await parties[1].close()
    }
    return out
  } finally {
    for (const s of stores) await s.close().catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  }
}
