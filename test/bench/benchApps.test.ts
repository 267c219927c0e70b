// The bench reaches apps through the registry: each built-in app's folder declares its benchmark
// inputs (apps/<app>/bench.ts), and the figures are keyed by the app's name in camel case, the keys
// tooling reads (`escrowStepsPerSec`, `apps.tvDelivery`).
import assert from 'node:assert/strict'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import { builtInBenches } from '../../apps/builtInBenches.ts'
import { appKey } from '../../bench/appKey.ts'
import { benchApps } from '../../bench/apps.ts'
import { loopApp } from '../../bench/loopApp.ts'

describe('bench: per-app inputs from the apps’ folders', function () {
  this.timeout(300_000)

  it('derives the figures’ keys from the app names', () => {
    assert.equal(appKey('tv-delivery'), 'tvDelivery')
    assert.equal(appKey('cold-chain'), 'coldChain')
    assert.equal(appKey('escrow'), 'escrow')
    assert.equal(appKey('a-b-2c'), 'aB2c')
  })

  it('every built-in app declares inputs; the loop app is the escrow, whose loop encodes through its module', async () => {
    const benches = await builtInBenches()
    assert.deepEqual(
      benches.map((b) => b.app.name),
      BUILT_IN_REGISTRY.names,
    )
    const { bench, key } = await loopApp()
    assert.equal(key, 'escrow')
    const ctx = {
      chainId: 31337n,
      env: { blockNumber: 1n, timestamp: 1_700_000_000n },
      third: '0x00000000000000000000000000000000000000aa' as const,
    }
    const names = bench.loop(ctx).map((a) => a.action)
    assert.deepEqual(names, ['fund', 'release'])
    for (const b of benches) assert.match(b.app.initialAppData(b.bench.open(ctx).terms), /^0x[0-9a-f]+$/)
  })

  it('runs each app’s steps through two parties and reports them under the same keys as before', async () => {
    const r = await benchApps({ steps: 4, log: () => undefined })
    assert.deepEqual(Object.keys(r).sort(), BUILT_IN_REGISTRY.names.map(appKey).sort())
    for (const k of ['coldChain', 'escrow', 'tvDelivery']) assert.ok(k in r, k)
    for (const [k, v] of Object.entries(r))
      assert.ok(Number.isFinite(v.cosignedStepsPerSec) && v.cosignedStepsPerSec > 0, k)
  })
})
