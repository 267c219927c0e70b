import type { Hex } from 'viem'
import type { ChannelStore } from '../../engine/store/types.ts'

/**
 * A ChannelStore that calls `crash` right after a signature for one of `versions` is durably
 * recorded (`recordSignature` or `recordSignatureAndState` resolved), before the party can send
 * it: the crash tests pass `() => process.kill(process.pid, 'SIGKILL')`.
 *
 * @example
 * ```ts
 * const store = crashingStore(createSqliteStore({ path }), { versions: [2n], crash: () => process.kill(process.pid, 'SIGKILL') })
 * ```
 */
export function crashingStore(
  inner: ChannelStore,
  opts: { versions: readonly bigint[]; crash: (channelId: Hex, version: bigint) => void },
): ChannelStore {
  const hit = (channelId: Hex, version: bigint) => {
    if (opts.versions.includes(version)) opts.crash(channelId, version)
  }
  return {
    ...bindAll(inner),
    async recordSignature(record) {
      const r = await inner.recordSignature(record)
      if (r.ok) hit(record.channelId, record.version)
      return r
    },
    async recordSignatureAndState(record, signed) {
      const r = await inner.recordSignatureAndState(record, signed)
      if (r.ok) hit(record.channelId, record.version)
      return r
    },
  }
}

/** Every method of a store, bound to it, as own properties (so that spreading keeps them). */
export function bindAll(store: ChannelStore): ChannelStore {
  const out: Record<string, unknown> = {}
  const keys: (keyof ChannelStore)[] = [
    'probeWrite',
    'putChannel',
    'getChannel',
    'listChannels',
    'recordSignature',
    'getSignatureRecord',
    'putSignedState',
    'writeSignedState',
    'whenDurable',
    'recordSignatureAndState',
    'getLatestSignedState',
    'getSignedState',
    'putForcedState',
    'getLatestForcedState',
    'putFunding',
    'getFunding',
    'putDisputed',
    'isDisputed',
    'close',
  ]
  for (const k of keys) out[k] = (store[k] as (...a: unknown[]) => unknown).bind(store)
  return out as unknown as ChannelStore
}
