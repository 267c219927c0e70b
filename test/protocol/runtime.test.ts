import assert from 'node:assert/strict'
import type { SignedState } from '../../engine/channel/types.ts'
import { createRuntime } from '../../engine/protocol/createRuntime.ts'
import type { ChannelMachine } from '../../engine/protocol/machine.ts'

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
