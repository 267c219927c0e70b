import type { Hex } from 'viem'
import type { SignedState, State } from '../channel/types.ts'
import type { ChannelRecord, ChannelStore, SignatureRecord } from './types.ts'

/**
 * A ChannelStore in memory: nothing survives the process, and a write is durable as soon as it is
 * written. For tests and for benchmarks that measure something other than the disk.
 *
 * @example
 * ```ts
 * const store = createMemoryStore()
 * ```
 */
export function createMemoryStore(): ChannelStore {
  const channels = new Map<string, ChannelRecord>()
  const sigs = new Map<string, SignatureRecord>()
  const states = new Map<string, Map<bigint, SignedState>>()
  const forced = new Map<string, State>()
  const funding = new Map<string, readonly bigint[]>()
  const disputed = new Set<string>()
  const key = (id: Hex) => id.toLowerCase()
  const store: ChannelStore = {
    async probeWrite() {},
    async putChannel(r) {
      channels.set(key(r.channelId), structuredClone(r))
    },
    async getChannel(id) {
      const r = channels.get(key(id))
      return r === undefined ? undefined : structuredClone(r)
    },
    async listChannels() {
      return [...channels.values()].map((r) => structuredClone(r))
    },
    async recordSignature(r) {
      const k = `${key(r.channelId)}:${r.version}`
      const existing = sigs.get(k)
      if (existing !== undefined) {
        return existing.digest.toLowerCase() === r.digest.toLowerCase()
          ? { ok: true }
          : { ok: false, existing: structuredClone(existing) }
      }
      sigs.set(k, structuredClone(r))
      return { ok: true }
    },
    async getSignatureRecord(id, version) {
      const r = sigs.get(`${key(id)}:${version}`)
      return r === undefined ? undefined : structuredClone(r)
    },
    async putSignedState(id, signed) {
      let m = states.get(key(id))
      if (m === undefined) states.set(key(id), (m = new Map()))
      m.set(signed.state.version, structuredClone(signed))
    },
    async writeSignedState(id, signed) {
      await store.putSignedState(id, signed)
    },
    async whenDurable() {},
    async getLatestSignedState(id) {
      const m = states.get(key(id))
      if (m === undefined || m.size === 0) return undefined
      let best: SignedState | undefined
      for (const s of m.values()) if (best === undefined || s.state.version > best.state.version) best = s
      return structuredClone(best)
    },
    async getSignedState(id, version) {
      const s = states.get(key(id))?.get(version)
      return s === undefined ? undefined : structuredClone(s)
    },
    async putForcedState(id, state) {
      const prev = forced.get(key(id))
      if (prev === undefined || state.version >= prev.version) forced.set(key(id), structuredClone(state))
    },
    async getLatestForcedState(id) {
      const s = forced.get(key(id))
      return s === undefined ? undefined : structuredClone(s)
    },
    async recordSignatureAndState(r, signed) {
      const res = await store.recordSignature(r)
      if (res.ok) await store.putSignedState(r.channelId, signed)
      return res
    },
    async putFunding(id, deposited) {
      funding.set(key(id), [...deposited])
    },
    async getFunding(id) {
      const d = funding.get(key(id))
      return d === undefined ? undefined : [...d]
    },
    async putDisputed(id) {
      disputed.add(key(id))
    },
    async isDisputed(id) {
      return disputed.has(key(id))
    },
    async close() {},
  }
  return store
}
