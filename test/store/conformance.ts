import assert from 'node:assert/strict'
import type { Hex } from 'viem'
import type { ChannelStore } from '../../engine/store/types.ts'
import { escrowChannel } from '../support/channel.ts'

/**
 * The ChannelStore conformance suite: every store implementation runs it.
 * `open` gives a fresh store; `reopen` (when the store is durable) opens the same data again.
 */
export function channelStoreConformance(
  name: string,
  open: () => Promise<ChannelStore>,
  reopen?: (s: ChannelStore) => Promise<ChannelStore>,
): void {
  describe(`ChannelStore conformance: ${name}`, () => {
    const { params, channelId, initial } = escrowChannel()
    const digestA = `0x${'aa'.repeat(32)}` as Hex
    const digestB = `0x${'bb'.repeat(32)}` as Hex
    let store: ChannelStore
    beforeEach(async () => {
      store = await open()
    })
    afterEach(async () => {
      await store.close()
    })

    it('stores and lists channels', async () => {
      assert.equal(await store.getChannel(channelId), undefined)
      await store.putChannel({ channelId, params, myIndex: 1 })
      assert.deepEqual(await store.getChannel(channelId), { channelId, params, myIndex: 1 })
      assert.equal((await store.listChannels()).length, 1)
    })

    it('records a signature once per version and refuses a different digest', async () => {
      assert.deepEqual(
        await store.recordSignature({
          channelId,
          version: 1n,
          digest: digestA,
          state: { ...initial, version: 1n },
        }),
        { ok: true },
      )
      assert.deepEqual(
        await store.recordSignature({
          channelId,
          version: 1n,
          digest: digestA,
          state: { ...initial, version: 1n },
        }),
        { ok: true },
        'idempotent for the same digest',
      )
      const r = await store.recordSignature({
        channelId,
        version: 1n,
        digest: digestB,
        state: { ...initial, version: 1n, isFinal: true },
      })
      assert.equal(r.ok, false)
      if (!r.ok) {
        assert.equal(r.existing.digest, digestA)
        assert.equal(r.existing.state.isFinal, false)
      }
      assert.equal((await store.getSignatureRecord(channelId, 1n))?.digest, digestA)
      assert.deepEqual(
        await store.recordSignature({
          channelId,
          version: 2n,
          digest: digestB,
          state: { ...initial, version: 2n },
        }),
        { ok: true },
      )
    })

    it('keeps every co-signed state and returns the highest version as the latest', async () => {
      assert.equal(await store.getLatestSignedState(channelId), undefined)
      const sigs = [`0x${'11'.repeat(65)}`, `0x${'22'.repeat(65)}`] as Hex[]
      for (const v of [0n, 2n, 1n])
        await store.putSignedState(channelId, {
          state: { ...initial, version: v, balances: [1000n - v, v] },
          signatures: sigs,
        })
      const latest = await store.getLatestSignedState(channelId)
      assert.equal(latest?.state.version, 2n)
      assert.deepEqual(latest?.state.balances, [998n, 2n])
      assert.deepEqual(latest?.signatures, sigs)
      assert.equal((await store.getSignedState(channelId, 1n))?.state.version, 1n)
    })

    it('a co-signed state written is read back at once, in order with the writes around it, and durable after whenDurable', async () => {
      const sigs = [`0x${'11'.repeat(65)}`, `0x${'22'.repeat(65)}`] as Hex[]
      await store.putSignedState(channelId, { state: { ...initial, version: 1n }, signatures: sigs })
      await store.writeSignedState(channelId, {
        state: { ...initial, version: 2n, balances: [998n, 2n] },
        signatures: sigs,
      })
      const latest = await store.getLatestSignedState(channelId)
      assert.equal(latest?.state.version, 2n, 'a later read sees the written state')
      assert.deepEqual(latest?.state.balances, [998n, 2n])
      assert.deepEqual(latest?.signatures, sigs)
      assert.equal((await store.getSignedState(channelId, 1n))?.state.version, 1n, 'every version is kept')
      // A write after it, then the barrier: both hold.
      assert.deepEqual(
        await store.recordSignature({
          channelId,
          version: 3n,
          digest: digestA,
          state: { ...initial, version: 3n },
        }),
        { ok: true },
      )
      await store.whenDurable()
      assert.equal((await store.getLatestSignedState(channelId))?.state.version, 2n)
      assert.equal((await store.getSignatureRecord(channelId, 3n))?.digest, digestA)
    })

    it('whenDurable resolves with nothing written, and again after every write', async () => {
      await store.whenDurable()
      await store.putFunding(channelId, [1n, 2n])
      await store.whenDurable()
      assert.deepEqual(await store.getFunding(channelId), [1n, 2n])
    })

    it('records a signature and stores the co-signed state in one write, or neither', async () => {
      const state = { ...initial, version: 7n }
      const signed = { state, signatures: [`0x${'33'.repeat(65)}`] as Hex[] }
      assert.deepEqual(
        await store.recordSignatureAndState({ channelId, version: 7n, digest: digestA, state }, signed),
        { ok: true },
      )
      assert.equal((await store.getLatestSignedState(channelId))?.state.version, 7n)
      assert.equal((await store.getSignatureRecord(channelId, 7n))?.digest, digestA)
      const other = { state: { ...state, isFinal: true }, signatures: [] }
      const r = await store.recordSignatureAndState(
        { channelId, version: 7n, digest: digestB, state: other.state },
        other,
      )
      assert.equal(r.ok, false)
      assert.equal(
        (await store.getLatestSignedState(channelId))?.state.isFinal,
        false,
        'the conflicting state was not stored',
      )
    })

    it('keeps adopted forced states apart from co-signed ones; the highest version is the latest', async () => {
      assert.equal(await store.getLatestForcedState(channelId), undefined)
      await store.putForcedState(channelId, { ...initial, version: 3n })
      await store.putForcedState(channelId, { ...initial, version: 2n, isFinal: true })
      assert.equal((await store.getLatestForcedState(channelId))?.version, 3n)
      assert.equal(
        await store.getLatestSignedState(channelId),
        undefined,
        'a forced state is not a co-signed state',
      )
    })

    it('writes a probe when asked (a store that cannot write rejects)', async () => {
      await store.probeWrite()
      await store.probeWrite()
    })

    it('keeps the proposal next to a signature record, and records without one', async () => {
      const proposal = {
        mover: 0,
        action: '0x0102' as Hex,
        env: { blockNumber: 7n, timestamp: 1_700_000_000n },
        sig: `0x${'44'.repeat(65)}` as Hex,
      }
      await store.recordSignature({
        channelId,
        version: 3n,
        digest: digestA,
        state: { ...initial, version: 3n },
        proposal,
      })
      assert.deepEqual((await store.getSignatureRecord(channelId, 3n))?.proposal, proposal)
      const r = await store.recordSignature({
        channelId,
        version: 3n,
        digest: digestB,
        state: { ...initial, version: 3n },
      })
      assert.deepEqual(
        r.ok ? undefined : r.existing.proposal,
        proposal,
        'a refusal can show the proposal it signed',
      )
      await store.recordSignature({
        channelId,
        version: 4n,
        digest: digestA,
        state: { ...initial, version: 4n },
      })
      assert.equal((await store.getSignatureRecord(channelId, 4n))?.proposal, undefined)
    })

    it('records the funding of a channel; unfunded until then', async () => {
      assert.equal(await store.getFunding(channelId), undefined)
      await store.putFunding(channelId, [1000n, (1n << 255n) + 1n])
      assert.deepEqual(await store.getFunding(channelId), [1000n, (1n << 255n) + 1n])
      await store.putFunding(channelId, [1001n, 0n])
      assert.deepEqual(await store.getFunding(channelId), [1001n, 0n], 'a later call replaces it')
      assert.equal(await store.getFunding(`0x${'99'.repeat(32)}` as Hex), undefined, 'per channel')
    })

    it('records a dispute of a channel, for good and per channel', async () => {
      assert.equal(await store.isDisputed(channelId), false)
      await store.putDisputed(channelId)
      await store.putDisputed(channelId)
      assert.equal(await store.isDisputed(channelId), true, 'idempotent')
      assert.equal(await store.isDisputed(`0x${'99'.repeat(32)}` as Hex), false, 'per channel')
    })

    it('orders uint64 versions numerically, up to the largest', async () => {
      const max = (1n << 64n) - 1n
      for (const v of [9n, 10n, max, 100n])
        await store.putSignedState(channelId, { state: { ...initial, version: v }, signatures: [] })
      assert.equal((await store.getLatestSignedState(channelId))?.state.version, max)
    })

    if (reopen !== undefined) {
      it('survives a reopen: channels, signature records and states', async () => {
        await store.putChannel({ channelId, params, myIndex: 0 })
        await store.recordSignature({
          channelId,
          version: 5n,
          digest: digestA,
          state: { ...initial, version: 5n },
        })
        await store.putSignedState(channelId, { state: { ...initial, version: 4n }, signatures: [] })
        await store.writeSignedState(channelId, { state: { ...initial, version: 6n }, signatures: [] })
        await store.whenDurable()
        await store.putFunding(channelId, [1000n, 0n])
        await store.putDisputed(channelId)
        store = await reopen(store)
        assert.equal((await store.getChannel(channelId))?.myIndex, 0)
        assert.deepEqual(await store.getFunding(channelId), [1000n, 0n])
        assert.equal(await store.isDisputed(channelId), true)
        assert.equal(
          (
            await store.recordSignature({
              channelId,
              version: 5n,
              digest: digestB,
              state: { ...initial, version: 5n },
            })
          ).ok,
          false,
        )
        assert.equal((await store.getLatestSignedState(channelId))?.state.version, 6n)
        assert.equal((await store.getSignedState(channelId, 4n))?.state.version, 4n)
      })
    }
  })
}
