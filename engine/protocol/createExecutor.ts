import type { Address, Hex } from 'viem'
import { stateToWire } from '../channel/wire.ts'
import type { Env, SignedState, State } from '../channel/types.ts'
import { ChanvmError } from '../errors.ts'
import type { Signer } from '../crypto/types.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import { runTransition } from '../sandbox/runTransition.ts'
import type { ChannelRecord, ChannelStore, SignatureRecord } from '../store/types.ts'
import type { PeerMessage, PeerTransport, WireProposal } from '../transport/types.ts'
import {
  advanceLatest,
  createChannelMachine,
  lower,
  others,
  type ChannelMachine,
  type Msg,
} from './machine.ts'
import { commitOf, envToWire, isEnvWithin } from './messageChecks.ts'
import { hashProposal, hashReject } from './messageDigests.ts'
import { disputedError } from './partyErrors.ts'
import type { AppCode, PartyEvent, RefusalReason } from './types.ts'

const SYNC_BACKOFF_STEPS = 5 // the interval between sync requests doubles this many times, then stays

/** What {@link createExecutor} returns: the handlers' only way to the world. */
export type Executor = ReturnType<typeof createExecutor>

/**
 * The one place where a party touches the world: the signer, the store, the transport, the
 * sandbox, the clock, timers and event listeners. The handlers decide; this carries it out. A
 * state signature leaves only through `recordThenSign`, after its record is durable.
 *
 * @example
 * ```ts
 * const io = createExecutor({ signer, store: guardStore(store), transport, sandbox, clock, tolerance, timeoutMs, isClosed: () => closed })
 * const r = await io.recordThenSign(ch, record)
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
  isClosed: () => boolean
}) {
  const { signer, store, transport } = o
  const address = signer.address
  const counters: Record<string, number> = {}
  const emit = (e: PartyEvent) => {
    try {
      o.onEvent?.(e)
    } catch {
      /* a listener's failure is not the protocol's */
    }
  }
  const count = (reason: string) => (counters[reason] = (counters[reason] ?? 0) + 1)
  const drop = (reason: string, message: string) => {
    count(reason)
    emit({ type: 'dropped', reason, message })
  }

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
  const sendCommit = (ch: ChannelMachine, to: Address, s: SignedState) => send(to, commitOf(ch, address, s))

  /** Records a co-signed state (unless already recorded), takes it as the latest when newer, and tells whoever waits. */
  const setLatest = async (ch: ChannelMachine, signed: SignedState, persist: boolean) => {
    if (persist) await store.putSignedState(ch.id, signed)
    if (!advanceLatest(ch, signed)) return
    emit({ type: 'committed', channelId: ch.id, state: signed.state, signatures: signed.signatures })
    if (ch.opening !== undefined) {
      const op = ch.opening
      ch.opening = undefined
      emit({ type: 'opened', channelId: ch.id, state: signed.state })
      op.done(signed)
    }
    if (ch.pending !== undefined && ch.pending.state.version <= signed.state.version) ch.pending.done('lost')
    for (const w of [...ch.waiters]) w()
  }

  /**
   * The one path by which this party's state signature leaves it: sign, durably record "I signed
   * version v with digest D" (and, when `peerSigs` holds every other participant's signature, the
   * co-signed state in the same write), and only then return the signature. Returns the existing
   * record when a different digest is recorded at that version.
   */
  const recordThenSign = async (
    ch: ChannelMachine,
    record: SignatureRecord,
    peerSigs?: Map<string, Hex>,
  ): Promise<{ ok: true; sig: Hex; signed?: SignedState } | { ok: false; existing: SignatureRecord }> => {
    if (ch.disputed && record.version > 0n) throw disputedError(ch)
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
    const r =
      signed === undefined
        ? await store.recordSignature(record)
        : await store.recordSignatureAndState(record, signed)
    if (!r.ok) return r
    // Having signed this state at its version, this party can never finish another one there.
    for (const [k, own] of ch.own)
      if (own.version === record.version && k !== lower(record.digest)) ch.own.delete(k)
    emit({ type: 'signed', channelId: ch.id, version: record.version, digest: record.digest })
    if (signed !== undefined) await setLatest(ch, signed, false)
    return signed === undefined ? { ok: true, sig } : { ok: true, sig, signed }
  }

  /**
   * Signs again a digest read back from the store (an accept that was lost, what a refusal or a
   * sync request shows): recorded before, so nothing new leaves.
   */
  const signAgain = (rec: SignatureRecord): Promise<Hex> => Promise.resolve(signer.signDigest(rec.digest))

  /** What this party signed (a record with the proposal it came from), as a refusal or a sync request shows it. */
  const showSigned = async (rec: SignatureRecord): Promise<NonNullable<Msg<'sync'>['signed']>> => {
    const p = rec.proposal
    const proposal: WireProposal | undefined =
      p === undefined ? undefined : { mover: p.mover, action: p.action, env: envToWire(p.env), sig: p.sig }
    return {
      state: stateToWire(rec.state),
      sig: await signAgain(rec),
      ...(proposal === undefined ? {} : { proposal }),
    }
  }

  /** Signs this party's proposal of `state` (not a state signature: it commits the mover to the step). */
  const signProposal = (ch: ChannelMachine, state: State, digest: Hex, action: Hex, env: Env) =>
    Promise.resolve(
      signer.signDigest(
        hashProposal(ch.params, {
          channelId: ch.id,
          version: state.version,
          stateHash: digest,
          mover: BigInt(ch.myIndex),
          action,
          ...env,
        }),
      ),
    )

  /** Sends a signed `reject`; with `conflicting-signature`, shows what this party signed instead. */
  const refuse = async (
    ch: ChannelMachine,
    to: Address,
    version: bigint,
    digest: Hex,
    reason: RefusalReason,
    message: string,
    signedInstead?: SignatureRecord,
  ) => {
    count(reason)
    emit({ type: 'refused', channelId: ch.id, version, from: to, reason, message })
    const sig = await signer.signDigest(
      hashReject(ch.params, { channelId: ch.id, version, stateHash: digest, reason, message }),
    )
    const signed = signedInstead === undefined ? undefined : await showSigned(signedInstead)
    send(to, {
      type: 'reject',
      channelId: ch.id,
      from: address,
      version: version.toString(),
      digest,
      reason,
      message,
      sig,
      ...(signed === undefined ? {} : { signed }),
    })
  }

  /** Asks `to` (default: every other participant) for the co-signed state at `version`, showing what this party signed there. */
  const askSync = async (ch: ChannelMachine, version: bigint, signedHere?: SignatureRecord, to?: Address) => {
    const signed = signedHere === undefined ? undefined : await showSigned(signedHere)
    for (const peer of to === undefined ? others(ch) : [to]) {
      emit({ type: 'sync', channelId: ch.id, version, direction: 'asked', peer })
      send(peer, {
        type: 'sync',
        channelId: ch.id,
        from: address,
        version: version.toString(),
        ...(signed === undefined ? {} : { signed }),
      })
    }
  }

  /**
   * While this party holds its signature at `version` without the co-signed state, asks for it
   * again: after `timeoutMs`, then twice, four times … as long (at most 32 times), until it
   * arrives or the party closes.
   */
  const watchCommit = (ch: ChannelMachine, version: bigint, tries = 0) => {
    clearTimeout(ch.syncTimer)
    if (o.isClosed()) return
    ch.syncTimer = setTimeout(
      () => {
        if (o.isClosed() || (ch.latest !== undefined && ch.latest.state.version >= version)) return
        void store
          .getSignatureRecord(ch.id, version)
          .then((rec) => askSync(ch, version, rec))
          .catch(() => undefined)
        watchCommit(ch, version, tries + 1)
      },
      o.timeoutMs * 2 ** Math.min(tries, SYNC_BACKOFF_STEPS),
    )
    ch.syncTimer.unref()
  }

  // A held head may lag the mover's: a proposal ahead of it is checked again at a fresh read.
  const envWithin = async (env: Env): Promise<boolean> => {
    const mine = await o.clock()
    const fresh = env.blockNumber > mine.blockNumber ? o.freshClock : undefined
    return isEnvWithin(env, mine, o.tolerance) || (!!fresh && isEnvWithin(env, await fresh(), o.tolerance))
  }
  /** The channels in the store whose app this party runs, as machines with what the store holds of them. */
  const loadChannels = async (
    apps: Map<string, AppCode>,
    requireFunding: boolean,
  ): Promise<ChannelMachine[]> => {
    const out: ChannelMachine[] = []
    for (const rec of await store.listChannels()) {
      const app = apps.get(lower(rec.params.appCodeHash))
      if (app === undefined) continue
      const funded = !requireFunding || (await store.getFunding(rec.channelId)) !== undefined
      const ch = createChannelMachine({
        id: rec.channelId,
        params: rec.params,
        myIndex: rec.myIndex,
        app,
        funded,
      })
      ch.latest = await store.getLatestSignedState(rec.channelId)
      ch.forced = await store.getLatestForcedState(rec.channelId)
      ch.disputed = await store.isDisputed(rec.channelId)
      out.push(ch)
    }
    return out
  }
  const rerun = (ch: ChannelMachine, from: State, mover: bigint, action: Hex, env: Env) =>
    runTransition(o.sandbox, {
      params: ch.params,
      from,
      mover,
      action,
      env,
      appCode: ch.app.code,
      ...(ch.app.abi ? { appAbi: ch.app.abi } : {}),
    })

  return {
    address,
    /** Fails at once on a store that cannot write. */
    probeWrite: () => store.probeWrite(),
    /** Hands every message that arrives to `handler`; returns the function that stops it. */
    listen: (handler: (m: PeerMessage) => Promise<void>) => transport.onMessage(handler),
    /** This party's signature record at `version`, if it signed there. */
    signedAt: (ch: ChannelMachine, version: bigint) => store.getSignatureRecord(ch.id, version),
    /** The co-signed state at `version`, as stored. */
    coSignedAt: (ch: ChannelMachine, version: bigint) => store.getSignedState(ch.id, version),
    saveChannel: (record: ChannelRecord) => store.putChannel(record),
    fundingOf: (channelId: Hex) => store.getFunding(channelId),
    saveFunding: (ch: ChannelMachine, deposited: readonly bigint[]) => store.putFunding(ch.id, deposited),
    saveDisputed: (ch: ChannelMachine) => store.putDisputed(ch.id),
    saveForced: (ch: ChannelMachine, state: State) => store.putForcedState(ch.id, state),
    loadChannels,
    emit,
    count,
    drop,
    stats: () => ({ ...counters }),
    send,
    sendCommit,
    setLatest,
    recordThenSign,
    signAgain,
    signProposal,
    refuse,
    askSync,
    watchCommit,
    now: () => o.clock(),
    envWithin,
    rerun,
  }
}
