import type { Address } from 'viem'
import type { SignatureRecord } from '../store/types.ts'
import type { PeerMessage } from '../transport/types.ts'
import type { Runtime } from './createRuntime.ts'
import { others, type ChannelMachine, type Msg } from './machine.ts'

const SYNC_BACKOFF_STEPS = 5 // the interval between sync requests doubles this many times, then stays

/**
 * The executor's requests for a missing commit (docs/protocol.md, "Re-sync"): `askSync` sends a
 * `sync` for a version, showing what this party signed there; `watchCommit` asks again while that
 * commit stays missing. It holds no signer and no store: it signs through `show` and reads its
 * record through `recordAt`, both the executor's.
 *
 * @example
 * ```ts
 * const { askSync, watchCommit } = createSyncRequests({ address, rt, send, show: showSigned, recordAt, timeoutMs, isClosed })
 * ```
 */
export function createSyncRequests(o: {
  address: Address
  rt: Runtime
  send: (to: Address, m: PeerMessage) => void
  /** What this party signed, as a sync request shows it (nothing on a channel in dispute). */
  show: (ch: ChannelMachine, rec: SignatureRecord) => Promise<Msg<'sync'>['signed']>
  /** This party's signature record at `version`, if any. */
  recordAt: (ch: ChannelMachine, version: bigint) => Promise<SignatureRecord | undefined>
  timeoutMs: number
  isClosed: () => boolean
}) {
  const { address, rt, send } = o

  /** Asks `to` (default: every other participant) for the co-signed state at `version`, showing what this party signed there. */
  const askSync = async (ch: ChannelMachine, version: bigint, signedHere?: SignatureRecord, to?: Address) => {
    const signed = signedHere === undefined ? undefined : await o.show(ch, signedHere)
    for (const peer of to === undefined ? others(ch) : [to]) {
      rt.emit({ type: 'sync', channelId: ch.id, version, direction: 'asked', peer })
      const m: PeerMessage = { type: 'sync', channelId: ch.id, from: address, version: version.toString() }
      send(peer, signed === undefined ? m : { ...m, signed })
    }
  }

  /**
   * While this party holds its signature at `version` without the co-signed state, asks for it
   * again: after `timeoutMs`, then twice, four times … as long (at most 32 times), until it
   * arrives or the party closes.
   */
  const watchCommit = (ch: ChannelMachine, version: bigint, tries = 0) => {
    const r = rt.of(ch)
    clearTimeout(r.syncTimer)
    if (o.isClosed()) return
    r.syncTimer = setTimeout(
      () => {
        if (o.isClosed() || (ch.latest !== undefined && ch.latest.state.version >= version)) return
        void o
          .recordAt(ch, version)
          .then((rec) => askSync(ch, version, rec))
          .catch(() => undefined)
        watchCommit(ch, version, tries + 1)
      },
      o.timeoutMs * 2 ** Math.min(tries, SYNC_BACKOFF_STEPS),
    )
    r.syncTimer.unref()
  }

  return { askSync, watchCommit }
}
