import type { Address, Hex } from 'viem'
import { stateToWire } from '../channel/wire.ts'
import type { Env, SignedState } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import type { CryptoPool } from '../crypto/createCryptoPool.ts'
import type { Signer } from '../crypto/types.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import type { ChannelStore, SignatureRecord } from '../store/types.ts'
import type { PeerMessage, PeerTransport, WireProposal } from '../transport/types.ts'
import type { Answer, Ask, Effect, Handler, SignOutcome, Step, StoreErrorReply } from './effects.ts'
import { lower, withheld, type ChannelMachine, type Msg } from './machine.ts'
import { acceptOf, envToWire, rejectOf } from './messageChecks.ts'
import { hashProposal, hashReject } from './messageDigests.ts'
import { createFacts } from './createFacts.ts'
import { createRuntime } from './createRuntime.ts'
import { createSyncRequests } from './createSyncRequests.ts'
import { onSigned } from './onSigned.ts'
import { describe, disputedError, isStoreError } from './partyErrors.ts'
import type { PartyEvent, PartyOptions } from './types.ts'

/** How long a peer's co-signed state may wait for its sync: the next record's sync often serves both. */
export const PEER_STATE_LINGER_MS = 5

/** What {@link createExecutor} returns: the handlers' only way to the world. */
export type Executor = ReturnType<typeof createExecutor>

/**
 * The one place where a party touches the world: the signer, the store, the transport, the
 * sandbox, the clock, timers and event listeners. Handlers are pure and return effects; `handle`
 * asks a handler, fetches each fact it needs, and carries out its decision (`run`): writes first
 * (`save`, `persist`, `recordAndSign`), then the new machine, then the rest in order, then what follows
 * each signature (`onSigned`). A state signature leaves only through `recordAndSign`, once its
 * record is durable; a co-signed state is seen outside the party only once it is durable.
 *
 * @example
 * ```ts
 * const io = createExecutor({ signer, store: guardStore(store), transport, sandbox, clock, tolerance, timeoutMs, isClosed: () => closed })
 * await io.handle(ch, onCommit, message)
 * ```
 */
export function createExecutor(o: {
  signer: Signer
  store: ChannelStore
  transport: PeerTransport
  sandbox: Sandbox
  clock: () => Env | Promise<Env>
  freshClock?: (() => Promise<Env>) | undefined
  tolerance: { blocks: bigint; seconds: bigint }
  timeoutMs: number
  onEvent?: ((e: PartyEvent) => void) | undefined
  approve?: PartyOptions['approve']
  isClosed: () => boolean
  cryptoPool?: CryptoPool | undefined
}) {
  const { signer, store, transport } = o
  const address = signer.address
  const refusedForStore = new WeakSet<object>()
  const rt = createRuntime(o.onEvent)
  const { emit, count, drop } = rt
  const reader = createFacts(o)

  /**
   * Hands a message to the transport without waiting for it. Nothing on a channel's queue waits
   * for the transport: an MQTT client that re-sends its stored messages after a reconnect holds new
   * ones until the broker acknowledged those, and reads that acknowledgement only after the handler
   * of the message in hand returned; a handler awaiting its own send would wait for ever, and with
   * it every later message and `update` of the channel. A message lost on the way is healed by
   * re-sync like any lost message.
   */
  const send = (to: Address, m: PeerMessage): void => {
    const failed = (e: unknown) =>
      emit({ type: 'dropped', reason: 'send-failed', message: (e as Error)?.message ?? String(e) })
    try {
      transport.send(to, m).catch(failed)
    } catch (e) {
      failed(e)
    }
  }

  /** Takes `next` as the channel's machine (a dispute, marked outside the queue, stays). */
  const commit = (ch: ChannelMachine, next: ChannelMachine) => {
    if (next !== ch) Object.assign(ch, next, { disputed: ch.disputed || next.disputed })
  }

  /**
   * The one path by which this party's state signature leaves it: sign, durably record "I signed
   * version v with digest D" (and, when `peerSigs` holds every other participant's signature, the
   * co-signed state in the same write), and only then hand the signature on. The store refuses a
   * different digest at a recorded version.
   */
  const recordAndSign = async (
    ch: ChannelMachine,
    e: Extract<Effect, { kind: 'recordAndSign' }>,
  ): Promise<SignOutcome> => {
    const { record, peerSigs } = e
    if (withheld(ch, record.version)) throw disputedError(ch)
    const sig = await signer.signDigest(record.digest)
    let signed: SignedState | undefined
    if (peerSigs !== undefined) {
      const signatures = ch.params.participants.map((a, i) =>
        i === ch.myIndex ? sig : peerSigs.get(lower(a)),
      )
      if (signatures.some((s) => s === undefined))
        throw new ChanvmError('INVALID_ARGUMENT', 'a signature is missing', { channelId: ch.id })
      signed = { state: record.state, signatures: signatures as Hex[] }
    }
    // A dispute marked while signing: the signature alone is recorded, not the state it completes;
    // stored co-signed, that state would be the latest after a restart and go out (re-sync, sync).
    if (signed === undefined || withheld(ch, record.version)) {
      const r = await store.recordSignature(record)
      if (!r.ok) return r
      // A dispute marked while signing or recording: the record stays (it binds only this party).
      if (withheld(ch, record.version)) throw disputedError(ch)
      return { ok: true, sig }
    }
    // Once the co-signed state is being written it is co-signed before any dispute marked while
    // the write runs: the store holds it, so the step finishes as after a restart it would.
    const r = await store.recordSignatureAndState(record, signed)
    return r.ok ? { ok: true, sig, signed } : r
  }

  /** What this party signed (a record with the proposal it came from), as a refusal or a sync request shows it: signed again, recorded before; nothing on a channel in dispute. */
  const showSigned = async (ch: ChannelMachine, rec: SignatureRecord): Promise<Msg<'sync'>['signed']> => {
    if (withheld(ch, rec.version)) return undefined
    const p = rec.proposal
    const proposal: WireProposal | undefined =
      p === undefined ? undefined : { mover: p.mover, action: p.action, env: envToWire(p.env), sig: p.sig }
    return {
      state: stateToWire(rec.state),
      sig: await signer.signDigest(rec.digest),
      ...(proposal === undefined ? {} : { proposal }),
    }
  }

  /** Sends a signed `reject`; with `show`, what this party signed instead. */
  const refuse = async (ch: ChannelMachine, e: Extract<Effect, { kind: 'refuse' }>) => {
    const { to, version, digest, reason, message } = e
    count(reason)
    emit({ type: 'refused', channelId: ch.id, version, from: to, reason, message })
    const sig = await signer.signDigest(
      hashReject(ch.params, { channelId: ch.id, version, stateHash: digest, reason, message }),
    )
    const signed = e.show === undefined ? undefined : await showSigned(ch, e.show)
    send(to, rejectOf(ch, address, { version, digest, reason, message, sig }, signed))
  }

  const { askSync, watchCommit } = createSyncRequests({
    address,
    rt,
    send,
    show: showSigned,
    recordAt: (ch, version) => store.getSignatureRecord(ch.id, version),
    timeoutMs: o.timeoutMs,
    isClosed: o.isClosed,
  })

  /** Durably records what a local action learnt of the chain (a `save` effect). */
  const save = (ch: ChannelMachine, fact: Extract<Effect, { kind: 'save' }>['fact']): Promise<void> =>
    'channel' in fact
      ? store.putChannel(fact.channel)
      : 'funding' in fact
        ? store.putFunding(ch.id, fact.funding)
        : 'forced' in fact
          ? store.putForcedState(ch.id, fact.forced)
          : store.putDisputed(ch.id)

  /** The answer to a handler's question (its own proposal's signature, else a fact), in hand if it can be. */
  const answer = (ch: ChannelMachine, a: Ask): Answer[Ask['kind']] | Promise<Answer[Ask['kind']]> => {
    if (a.kind !== 'signProposal') return reader.answer(ch, a)
    const { state, digest, action, env } = a
    const pd = hashProposal(ch.params, {
      channelId: ch.id,
      version: state.version,
      stateHash: digest,
      mover: BigInt(ch.myIndex),
      action,
      ...env,
    })
    return signer.signDigest(pd)
  }

  /** Signs again what this party signed (a `signAgain` effect) and sends it in an `accept`. */
  const signAgain = async (ch: ChannelMachine, e: Extract<Effect, { kind: 'signAgain' }>) => {
    // Only a digest the store holds is signed again, and never in dispute: nothing new leaves.
    const rec = await store.getSignatureRecord(ch.id, e.record.version)
    if (rec === undefined || lower(rec.digest) !== lower(e.record.digest) || withheld(ch, rec.version)) return
    const sig = await signer.signDigest(rec.digest)
    send(e.to, acceptOf(ch, address, rec, sig))
  }

  /**
   * Carries out one effect that writes nothing; what it starts and must finish first (a signature,
   * a refusal, a sync request) is the promise it returns, the rest is done when it returns.
   */
  const carryOut = (ch: ChannelMachine, e: Effect): Promise<void> | void => {
    switch (e.kind) {
      case 'signAgain':
        return signAgain(ch, e)
      case 'send':
        return send(e.to, e.message)
      case 'refuse':
        return refuse(ch, e)
      case 'askSync':
        return askSync(ch, e.version, e.show, e.to)
      case 'resolve':
        // A verdict is heard only by the update on this party's queue, whose result waits for
        // durability: it need not wait (a sync slower than the time limit would end an accepted
        // update as a time-out). Every other resolution is seen outside the party.
        if ('verdict' in e.value) return rt.resolve(e.id, e.value)
        return rt.outside(ch, () => rt.resolve(e.id, e.value))
      case 'emit':
        return rt.outside(ch, () => emit(e.event))
      case 'drop':
        return drop(e.reason, e.message)
      case 'schedule':
        return watchCommit(ch, e.version)
      default: // persist, save and recordAndSign: run carries them out first
        return
    }
  }

  /**
   * Carries out a decision: the facts to save and the co-signed states to write first (a store
   * error stops it here, and the machine stays as it was); then the new machine; then the
   * signatures, each recorded before it is handed on; then the other effects in order (and whoever
   * waits for a newer latest state hears of it); then, for each signature, what follows it
   * ({@link onSigned}).
   *
   * A co-signed state is written, not yet durable, when the queue goes on: what is seen outside the
   * party (events, resolutions but verdicts, wake-ups, the acknowledgement) waits for the store's
   * `whenDurable` (`rt.hold`, `rt.durableOf`), which may linger {@link PEER_STATE_LINGER_MS}. Messages
   * to peers leave at once: a signature after its own record is durable (so is every write before).
   */
  const run = async (ch: ChannelMachine, s: Step): Promise<void> => {
    for (const e of s.effects) if (e.kind === 'save') await save(ch, e.fact)
    const persist = s.effects.flatMap((e) => (e.kind === 'persist' ? [e.signed] : []))
    for (const signed of persist) await store.writeSignedState(ch.id, signed)
    const before = ch.latest
    commit(ch, s.machine)
    if (persist.length > 0) rt.hold(ch, store.whenDurable(PEER_STATE_LINGER_MS), { before, after: ch.latest })
    const signed: [Extract<Effect, { kind: 'recordAndSign' }>, SignOutcome][] = []
    for (const e of s.effects) if (e.kind === 'recordAndSign') signed.push([e, await recordAndSign(ch, e)])
    for (const e of s.effects) {
      const started = carryOut(ch, e)
      if (started !== undefined) await started
    }
    // Whoever waits for a newer state hears of it once its events are out.
    if (ch.latest !== before) rt.outside(ch, () => rt.wake(ch))
    for (const [e, r] of signed) await run(ch, onSigned(ch, e, r))
  }

  /**
   * Asks `handler` about `input` on the channel's machine, fetching each fact it needs, and
   * carries out its decision. A store error while handling a peer's proposal is answered with a
   * signed `store-error` refusal, then thrown (the transport redelivers the message).
   */
  const handle = async <I, F extends object>(
    ch: ChannelMachine,
    handler: Handler<I, F>,
    input: I,
  ): Promise<void> => {
    const facts = {} as F
    let reply: StoreErrorReply | undefined
    try {
      for (;;) {
        const h = handler(ch, input, facts)
        reply = h.onStoreError ?? reply
        if (!('need' in h)) return await run(ch, h)
        const v = answer(ch, h.need.ask)
        ;(facts as Record<string, unknown>)[h.need.key] = v instanceof Promise ? await v : v
      }
    } catch (e) {
      if (!isStoreError(e) || reply === undefined) throw e
      // Nothing was recorded: refuse with a signed reason (no store needed to sign it).
      refusedForStore.add(e)
      const message = `this party cannot write its store: ${describe(e)}`
      await refuse(ch, { kind: 'refuse', ...reply, reason: 'store-error', message }).catch(() => undefined)
      throw e
    }
  }

  return {
    address,
    handle,
    /** The queues, waiters, timers and opens beside the machines. */
    rt,
    /** Whether a refusal already counted this store error. */
    refusedForStore: (e: object) => refusedForStore.has(e),
    /** Fails at once on a store that cannot write. */
    probeWrite: () => store.probeWrite(),
    /** Hands every message that arrives to `handler`; returns the function that stops it. */
    listen: (handler: (m: PeerMessage) => Promise<void>) => transport.onMessage(handler),
    ...reader,
    emit,
    count,
    drop,
    stats: rt.stats,
  }
}
