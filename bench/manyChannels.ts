// A node holding many open channels: its resident memory, and co-signed steps on channels picked
// across all of them. Opening 10,000 channels through the chain (two deposits each) takes hours
// here, so the channels are written into both nodes' stores beforehand as an open leaves them
// (the channel record, the initial state signed by both parties with its signature record, the
// funding confirmed); each node then starts on its store as after a restart: its party loads every
// channel, its watcher watches every channel, and steps go through the HTTP API and MQTT.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { startDemoNode, type DemoNodeHandle } from '../cli/demo/startDemoNode.ts'
import { deployLoopApp } from './deployLoopApp.ts'
import { hashState } from '../engine/channel/hashState.ts'
import { signState } from '../engine/channel/signState.ts'
import { startAnvil } from '../engine/chain/startAnvil.ts'
import { createSqliteStore } from '../engine/store/createSqliteStore.ts'
import { requestToChannel } from '../node/requestToChannel.ts'
import type { AppAction, OpenRequest } from '../node/types.ts'
import { startEmbeddedBroker } from '../oracles/mqtt/startEmbeddedBroker.ts'

export type ManyChannelsBench = {
  /** Open channels each node holds (its party loaded them, its watcher watches them). */
  channels: number
  /** Resident memory (MiB) of the payer's and the payee's node processes, all channels loaded. */
  rssMiB: { payer: number; payee: number }
  /** The same after `steps` co-signed steps on channels spread over all of them. */
  rssAfterStepsMiB: { payer: number; payee: number }
  /** Co-signed steps through the API on channels picked across all of them, 8 at once. */
  steps: number
  stepsPerSec: number
  /** Milliseconds from the start of the node process to its API answering, all channels loaded. */
  startMs: number
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 'NaN')
  return Math.round((kb / 1024) * 10) / 10
}

/**
 * Two nodes on anvil and aedes, each starting on a store that holds `channels` open channels of
 * the loop app (the first built-in app whose benchmark inputs have a loop) between them; measures both node processes' RSS, then `steps` co-signed steps through
 * the payer's API on channels spread over all of them, and the RSS again.
 *
 * @example
 * ```ts
 * const r = await benchManyChannels({ channels: 10_000 })
 * console.log(r.rssMiB.payer)
 * ```
 */
export async function benchManyChannels(
  opts: { channels?: number; steps?: number; log?: (s: string) => void } = {},
): Promise<ManyChannelsBench> {
  const channels = opts.channels ?? 10_000
  const steps = opts.steps ?? 400
  const log = opts.log ?? (() => undefined)
  const anvil = await startAnvil()
  const broker = await startEmbeddedBroker()
  const dir = mkdtempSync(join(tmpdir(), 'chanvm-bench-many-'))
  const nodes: DemoNodeHandle[] = []
  try {
    const { a, b, app, bench, chainId, adjudicator, appAddress, ctx } = await deployLoopApp(anvil)
    const scope = {
      chainId: BigInt(chainId),
      adjudicator,
      apps: { [app.name]: appAddress },
    }
    const deposit = 10n ** 15n
    const request = (nonce: bigint, role: 'first' | 'second', counterparty: Hex): OpenRequest => ({
      app: app.name,
      counterparty,
      role,
      balances: [deposit, 0n],
      nonce,
      challengeDuration: 3_600n,
      terms: bench.open(ctx).terms as OpenRequest['terms'],
    })

    // Both stores, written as an open leaves them (group commit: a thousand channels a sync).
    const stores = [
      { who: 'payer', self: a.address, role: 'first' as const, peer: b.address, me: 0 },
      { who: 'payee', self: b.address, role: 'second' as const, peer: a.address, me: 1 },
    ].map((s) => ({ ...s, store: createSqliteStore({ path: join(dir, s.who, 'data', 'node.db') }) }))
    const ids: Hex[] = []
    const base = BigInt(Date.now()) * 100_000n
    for (let from = 0; from < channels; from += 1_000) {
      const writes: Promise<unknown>[] = []
      for (let i = from; i < Math.min(channels, from + 1_000); i++) {
        const { params, initial, channelId } = requestToChannel(
          request(base + BigInt(i), 'first', b.address),
          {
            self: a.address,
            ...scope,
          },
        )
        ids.push(channelId)
        const digest = hashState(params.chainId, params.adjudicator, initial)
        const signatures = [
          signState(params, initial, a.privateKey),
          signState(params, initial, b.privateKey),
        ]
        for (const s of stores) {
          writes.push(
            s.store.putChannel({ channelId, params, myIndex: s.me }),
            s.store.recordSignature({ channelId, version: 0n, digest, state: initial }),
            s.store.putSignedState(channelId, { state: initial, signatures }),
            s.store.putFunding(channelId, [deposit, 0n]),
          )
        }
      }
      await Promise.all(writes)
      log(`  channels: ${Math.min(channels, from + 1_000)}/${channels} written into both stores`)
    }
    for (const s of stores) await s.store.close()

    const config = {
      chain: {
        rpcUrl: anvil.rpcUrl,
        chainId,
        adjudicator,
        pollingIntervalMs: 1_000,
        apps: { [app.name]: appAddress },
      },
      broker: { url: broker.url },
    }
    let startMs = 0
    for (const s of stores) {
      const t = performance.now()
      nodes.push(
        await startDemoNode({
          role: s.who,
          dir: join(dir, s.who),
          config,
          privateKey: s.who === 'payer' ? a.privateKey : b.privateKey,
          scryptN: 1024,
        }),
      )
      startMs = Math.max(startMs, Math.round(performance.now() - t))
    }
    const [payer, payee] = nodes as [DemoNodeHandle, DemoNodeHandle]
    const held = (await payer.api.health()).channels
    if (held < channels) throw new Error(`the payer's node holds ${held} channels, not ${channels}`)
    // Let both watchers take in every channel before measuring.
    await new Promise((r) => setTimeout(r, 3_000))
    const rss = { payer: rssMiB(payer.pid), payee: rssMiB(payee.pid) }
    log(`  channels: ${held} open channels held, RSS ${rss.payer} / ${rss.payee} MiB (payer / payee)`)

    const loop: AppAction[] = bench.loop(ctx).map((a) => ({ app: app.name, action: a.action, args: a.args }))
    // Channels spread over all of them, each driven at most once through the loop app's loop (one
    // update per channel in flight), 8 channels at once.
    const count = Math.min(ids.length, Math.max(1, Math.floor(steps / loop.length)))
    const picked = Array.from({ length: count }, (_, i) => ids[Math.floor((i * ids.length) / count)]!)
    let next = 0
    const t = performance.now()
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < picked.length) {
          const id = picked[next++]!
          for (const action of loop) {
            const r = await payer.api.act(id, action)
            if (!r.ok) throw new Error(`a step on ${id} was not co-signed`)
          }
        }
      }),
    )
    const done = picked.length * loop.length
    const stepsPerSec = Math.round(done / ((performance.now() - t) / 1000))
    const after = { payer: rssMiB(payer.pid), payee: rssMiB(payee.pid) }
    log(
      `  channels: ${done} co-signed steps across them at ${stepsPerSec}/s, RSS ${after.payer} / ${after.payee} MiB`,
    )
    return { channels: held, rssMiB: rss, rssAfterStepsMiB: after, steps: done, stepsPerSec, startMs }
  } finally {
    for (const n of nodes) await n.close().catch(() => undefined)
    await broker.close()
    await anvil.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
