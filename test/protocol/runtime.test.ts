import assert from 'node:assert/strict'
import { keccak256 } from 'viem'
import { escrowApp } from '../../apps/escrow/escrowClient.ts'
import type { SignedState } from '../../engine/channel/types.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import { createExecutor } from '../../engine/protocol/createExecutor.ts'
import { createRuntime } from '../../engine/protocol/createRuntime.ts'
import { guardStore } from '../../engine/protocol/guardStore.ts'
import type { ChannelMachine } from '../../engine/protocol/machine.ts'
import { openChannel } from '../../engine/protocol/openChannel.ts'
import type { PartyContext } from '../../engine/protocol/partyContext.ts'
import type { PartyOptions } from '../../engine/protocol/types.ts'
import { createSandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import { createMemoryHub } from '../../engine/transport/createMemoryTransport.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

const at = (version: bigint) => ({ state: { version }, signatures: [] }) as unknown as SignedState

describe('protocol: the runtime shows a channel outside the party only once durable', () => {
  it('a state taken through a durable write while an earlier one waits for its sync wakes the watchers once the outbox is empty', async () => {
    const rt = createRuntime()
    const ch = { key: 'c', latest: at(0n) } as unknown as ChannelMachine
    let release!: () => void
    const synced = new Promise<void>((res) => (release = res))
    // Version 1 is written, not yet durable; version 2 is then taken through a durable write (the
    // mover's last signature recorded with the co-signed state), while version 1 still waits.
    ch.latest = at(1n)
    rt.hold(ch, synced, { before: at(0n), after: at(1n) })
    ch.latest = at(2n)
    rt.outside(ch, () => rt.wake(ch))
    const seen: bigint[] = []
    rt.watchLatest(ch, () => seen.push(rt.shownLatest(ch)?.state.version ?? -1n))
    assert.equal(rt.shownLatest(ch)?.state.version, 0n, 'nothing newer is durable yet')
    release()
    await rt.durableOf(ch)
    await new Promise((res) => setTimeout(res, 10))
    assert.equal(rt.shownLatest(ch)?.state.version, 2n)
    assert.equal(seen.at(-1), 2n, 'a watcher waiting for version 2 must hear of it')
  })
})

describe('protocol: an open given up after its time limit', function () {
  this.timeout(10_000)

  it('leaves no listener for a failed sync on its channel', async () => {
    const io = createExecutor({
      signer: createKeySigner(testKeys[0]!),
      store: guardStore(createMemoryStore()),
      transport: createMemoryHub().connect(testAddresses[0]!),
      sandbox: await createSandbox(),
      clock: () => fixedEnv,
      tolerance: { blocks: 10n, seconds: 60n },
      timeoutMs: 50,
      isClosed: () => false,
    })
    const ctx: PartyContext = {
      io,
      options: { requireFunding: true } as PartyOptions,
      channels: new Map(),
      apps: new Map([[keccak256(escrowApp.code).toLowerCase(), escrowApp]]),
      timeoutMs: 50,
      maxRetries: 3,
      closed: false,
    }
    const { params, initial, channelId } = escrowChannel()
    // The peer never answers: the open ends with PEER_TIMEOUT, and its end never comes.
    await assert.rejects(
      openChannel(ctx, params, initial, () => undefined),
      (e: { code?: string }) => e.code === 'PEER_TIMEOUT',
    )
    await new Promise((r) => setTimeout(r, 20))
    const ch = ctx.channels.get(channelId.toLowerCase())
    assert.ok(ch, 'the party holds the channel')
    assert.equal(io.rt.of(ch).onFailed.size, 0, 'a listener of the given-up open is left on the channel')
  })
})
