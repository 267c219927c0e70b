import type { Address, Hex } from 'viem'
import { decodeEscrowData, escrowActions, escrowApp, signRuling } from '../../apps/escrow/escrowClient.ts'
import { hashState } from '../../engine/channel/hashState.ts'
import { wireToState } from '../../engine/channel/wire.ts'
import { createKeySigner } from '../../engine/crypto/createKeySigner.ts'
import {
  createParty,
  type Party,
  type PartyEvent,
  type UpdateResult,
} from '../../engine/protocol/createParty.ts'
import { createSandbox, type Sandbox } from '../../engine/sandbox/createSandbox.ts'
import { createMemoryStore } from '../../engine/store/createMemoryStore.ts'
import type { ChannelStore, SignatureRecord } from '../../engine/store/types.ts'
import type { SignedState } from '../../engine/channel/types.ts'
import type { PeerMessage, PeerTransport } from '../../engine/transport/types.ts'
import { escrowChannel, fixedEnv, testAddresses, testKeys } from '../support/channel.ts'

/** A message on its way: nothing is delivered until the test says so. */
export type Envelope = { from: 0 | 1; to: 0 | 1; text: string }

/**
 * Two parties of an Escrow channel (payer 0, payee 1) joined by an in-memory queue instead of a
 * transport: a sent message waits in `queue` until the test delivers, drops or duplicates it, so
 * a test picks every interleaving itself. Each party's store and sends are watched for the
 * safety rules: a state signature leaves a party only once its record is in the store, no
 * version is co-signed with two states, and every co-signed state holds the initial total.
 */
export async function createTwoMachines(opts: { responseTimeoutMs?: number; nonce?: bigint } = {}) {
  const ch = escrowChannel({ nonce: opts.nonce ?? 1n })
  const { params, channelId, initial } = ch
  const total = initial.balances.reduce((a, b) => a + b, 0n)
  const queue: Envelope[] = []
  const handlers: (((m: PeerMessage) => void | Promise<void>) | undefined)[] = [undefined, undefined]
  const violations: string[] = []
  /** Digests each party durably recorded a signature over. */
  const recorded: [Set<string>, Set<string>] = [new Set(), new Set()]
  /** Every co-signed state either party took, by version: its digest. */
  const coSigned = new Map<bigint, string>()
  const events: [PartyEvent[], PartyEvent[]] = [[], []]
  let activity = 0
  const inFlight = new Set<Promise<unknown>>()
  const refuseNext: [boolean, boolean] = [false, false]
  const digestOf = (w: PeerMessage & { state?: unknown }) =>
    hashState(params.chainId, params.adjudicator, wireToState(w.state as never)).toLowerCase()

  /** The digests of this party's own state signatures a message carries. */
  const ownSignedDigests = (m: PeerMessage): string[] => {
    switch (m.type) {
      case 'open':
        return [digestOf(m)]
      case 'accept':
      case 'commit':
        return [m.digest.toLowerCase()]
      case 'reject':
      case 'sync':
        return m.signed === undefined
          ? []
          : [hashState(params.chainId, params.adjudicator, wireToState(m.signed.state)).toLowerCase()]
      default:
        return []
    }
  }

  const watchStore = (i: 0 | 1, store: ChannelStore): ChannelStore =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver)
        if (prop !== 'recordSignature' && prop !== 'recordSignatureAndState') return value
        const f = value as (rec: SignatureRecord, signed?: SignedState) => Promise<{ ok: boolean }>
        return async (rec: SignatureRecord, signed?: SignedState) => {
          const r = await f.call(target, rec, signed)
          if (r.ok) recorded[i].add(rec.digest.toLowerCase())
          return r
        }
      },
    })

  const transportOf = (i: 0 | 1): PeerTransport => ({
    self: testAddresses[i]!,
    async send(to: Address, m: PeerMessage) {
      activity++
      for (const d of ownSignedDigests(m))
        if (!recorded[i].has(d))
          violations.push(`party ${i} sent its signature on ${d} (${m.type}) before recording it`)
      const j = to.toLowerCase() === testAddresses[0]!.toLowerCase() ? 0 : 1
      queue.push({ from: i, to: j, text: JSON.stringify(m) })
    },
    onMessage(h) {
      handlers[i] = h
      return () => (handlers[i] = undefined)
    },
    close: async () => undefined,
  })

  const onEvent = (i: 0 | 1) => (e: PartyEvent) => {
    activity++
    events[i].push(e)
    if (e.type !== 'committed') return
    const d = hashState(params.chainId, params.adjudicator, e.state).toLowerCase()
    const before = coSigned.get(e.state.version)
    if (before !== undefined && before !== d)
      violations.push(`version ${e.state.version} co-signed as ${before} and as ${d}`)
    coSigned.set(e.state.version, d)
    const sum = e.state.balances.reduce((a, b) => a + b, 0n)
    if (sum !== total) violations.push(`version ${e.state.version} holds ${sum}, not ${total}`)
  }

  const sandbox: Sandbox = await createSandbox()
  const stores = [createMemoryStore(), createMemoryStore()] as const
  const make = (i: 0 | 1): Promise<Party> =>
    createParty({
      signer: createKeySigner(testKeys[i]!),
      transport: transportOf(i),
      store: watchStore(i, stores[i]),
      sandbox,
      apps: [escrowApp],
      clock: () => fixedEnv,
      responseTimeoutMs: opts.responseTimeoutMs ?? 60_000,
      onEvent: onEvent(i),
      approve: () => (refuseNext[i] ? ((refuseNext[i] = false), 'not now') : true),
    })
  const parties = [await make(0), await make(1)] as const

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p)
    void p
      .finally(() => {
        inFlight.delete(p)
        activity++
      })
      .catch(() => undefined)
    return p
  }

  /** Waits until nothing moves any more: no handler or update progresses without a delivery. */
  const settle = async () => {
    for (let quiet = 0, last = -1; quiet < 5;) {
      await new Promise((r) => setImmediate(r))
      if (activity === last) quiet++
      else [quiet, last] = [0, activity]
    }
  }

  /** Delivers (or drops, or delivers twice) the message at `k` (modulo the queue's length). */
  const deliver = async (k: number, how: 'deliver' | 'drop' | 'duplicate' = 'deliver') => {
    if (queue.length === 0) return
    const [e] = queue.splice(k % queue.length, 1) as [Envelope]
    if (how === 'drop') return
    if (how === 'duplicate') queue.push(e)
    const h = handlers[e.to]
    if (h === undefined) return
    activity++
    // A handler that rejects did not acknowledge: the message comes again, as a broker redelivers it.
    track(Promise.resolve(h(JSON.parse(e.text) as PeerMessage))).catch(() => queue.push(e))
    await settle()
  }

  /** Delivers everything queued, in order, until the queue stays empty. */
  const drain = async () => {
    await settle()
    while (queue.length > 0) await deliver(0)
  }

  /** The next sensible move of party `i` on what it holds: the payer funds, the payee rules. */
  const nextAction = async (i: 0 | 1): Promise<Hex | undefined> => {
    const base = await parties[i].base(channelId)
    if (base === undefined) return undefined
    const d = decodeEscrowData(base.appData)
    if (!d.funded && i === 0) return escrowActions.fund(1n, fixedEnv.timestamp + 3_600n)
    if (d.funded && i === 1)
      return escrowActions.ruling(true, signRuling(params, channelId, d.escrowId, true, testKeys[2]!))
    return undefined
  }

  return {
    ...ch,
    parties,
    stores,
    queue,
    events,
    violations,
    coSigned,
    refuseNext,
    settle,
    deliver,
    drain,
    nextAction,
    track,
    /** Updates in flight, to wait for. */
    inFlight,
    /** Opens the channel (both sign version 0) and confirms its funding for both. */
    async open() {
      // With a short response time an open may give up before the test delivers: open again
      // (it is idempotent) until both hold the co-signed version 0.
      for (let tries = 0; ; tries++) {
        const opened = track(Promise.all(parties.map((p) => p.open(params, initial))))
        await drain()
        const ok = await opened.then(
          () => true,
          () => false,
        )
        if (ok) break
        if (tries >= 20) throw new Error('the channel did not open')
      }
      for (const p of parties) {
        const r = await p.confirmFunding(channelId, initial.balances)
        if (!r.ok) throw new Error(r.message)
      }
    },
    /** Starts party `i`'s update with `action` (does not wait for it). */
    update(i: 0 | 1, action: Hex): Promise<UpdateResult> {
      return track(parties[i].update(channelId, action))
    },
    async close() {
      for (const p of parties) await p.close()
    },
  }
}
