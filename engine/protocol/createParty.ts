import { keccak256, type Address, type Hex } from 'viem'
import { ChanvmError } from '../errors.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import { hashState } from '../channel/hashState.ts'
import { encodeState } from '../channel/encodeState.ts'
import { paramsToWire, stateToWire, wireToState } from '../channel/wire.ts'
import type { ChannelParams, Env, SignedState, State } from '../channel/types.ts'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'
import { recoverDigestSigner } from '../crypto/recoverDigestSigner.ts'
import { runTransition } from '../sandbox/runTransition.ts'
import type { ChannelStore, ProposalRecord, SignatureRecord } from '../store/types.ts'
import type { PeerMessage, WireProposal } from '../transport/types.ts'
import { hashProposal, hashReject } from './messageDigests.ts'
import { channelPhase } from './channelPhase.ts'
import { decideAccept } from './decideAccept.ts'
import { decideCommit } from './decideCommit.ts'
import { decideForcedChain } from './decideForcedChain.ts'
import { decideFunding } from './decideFunding.ts'
import { decideOpen } from './decideOpen.ts'
import { decideProposal, type ProposalFacts } from './decideProposal.ts'
import { decideReject } from './decideReject.ts'
import { decideSync } from './decideSync.ts'
import type {
  AdoptResult,
  AppCode,
  FundingResult,
  Party,
  PartyEvent,
  PartyOptions,
  RefusalReason,
  UpdateResult,
} from './types.ts'

export type {
  AdoptResult,
  AppCode,
  FundingResult,
  Party,
  PartyEvent,
  PartyOptions,
  ProposedStep,
  RefusalReason,
  UpdateResult,
} from './types.ts'

type Msg<T extends PeerMessage['type']> = Extract<PeerMessage, { type: T }>

/** How a proposal in flight ended, as its handlers report it to the waiting update. */
type Outcome =
  | 'complete'
  | 'lost'
  /** The refuser was behind and got the latest co-signed state: propose again at once. */
  | 'retry'
  | { finish: State; digest: Hex; sigs: Map<string, Hex> }
  /** A dispute was registered meanwhile: the mover does not sign last. */
  | 'disputed'
  | Extract<UpdateResult, { ok: false }>

type Pending = {
  state: State
  digest: Hex
  accepts: Map<string, Hex>
  done: (o: Outcome) => void
}

type Channel = {
  id: Hex
  key: string
  params: ChannelParams
  myIndex: number
  app: AppCode
  latest: SignedState | undefined
  /** A forced state adopted as the base, when newer than `latest`. */
  forced: State | undefined
  funded: boolean
  /** A dispute is registered on chain ({@link Party.markDisputed}): nothing new is signed. */
  disputed: boolean
  pending: Pending | undefined
  /** open() in progress: signatures collected over the initial state. */
  opening: { digest: Hex; state: State; sigs: Map<string, Hex>; done: (s: SignedState) => void } | undefined
  /** This party's open() was called (peers' opens are held until then), and its result. */
  openResult: Promise<SignedState> | undefined
  queue: Promise<unknown>
  waiters: Set<() => void>
  /** Asks for a missing commit again while this party holds its signature above the latest version. */
  syncTimer: NodeJS.Timeout | undefined
  /** Signatures peers showed (in refusals and sync requests) on this party's own proposals, by digest. */
  offers: Map<string, { state: State; sigs: Map<string, Hex> }>
  /**
   * This party's own proposals above the latest version that a peer may still sign, by digest:
   * the one in flight and those whose update ended without a verdict on them (a timeout, a store
   * error under the last signature). They count in the crossing rule and may be finished.
   */
  own: Map<string, { version: bigint; msg: Msg<'propose'> }>
  /**
   * Own proposals a peer refused (or that lost to another), by digest, with their version: never
   * finished, so a refused step does not come back to life when a refuser signs it late.
   */
  withdrawn: Map<string, bigint>
}

/** A message for a channel this party has not opened yet, kept until it does (or a time limit). */
type Held = { m: Msg<'open'>; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

const MESSAGE_TYPES = new Set(['open', 'propose', 'accept', 'reject', 'commit', 'sync'])
const MAX_HELD_PER_CHANNEL = 16
const MAX_HELD = 256
/** The interval between sync requests doubles this many times, then stays. */
const SYNC_BACKOFF_STEPS = 5

const lower = (a: string) => a.toLowerCase()
const isStoreError = (e: unknown): e is ChanvmError => e instanceof ChanvmError && e.code === 'STORE_ERROR'
const envToWire = (env: Env) => ({
  blockNumber: env.blockNumber.toString(),
  timestamp: env.timestamp.toString(),
})
const wireToEnv = (w: { blockNumber: string; timestamp: string }): Env => ({
  blockNumber: BigInt(w.blockNumber),
  timestamp: BigInt(w.timestamp),
})

/**
 * Creates a party: one participant's side of the off-chain update protocol (docs/protocol.md).
 *
 * The rules live in pure functions (`decideProposal`, `decideCommit`, `decideAccept`,
 * `decideReject`, `decideOpen`, `decideSync`, `decideForcedChain`, `decideFunding`); this driver
 * gathers their facts, carries out their decisions, and runs every message and local action of a
 * channel through one queue, one at a time. A signature leaves the party only through
 * `recordThenSign`, after it is durably recorded. The transport handler resolves once whatever a
 * message made the party store is on disk. Channels already in `store` are loaded at start: the
 * party re-sends its latest co-signed state to the others and asks for a commit it lacks.
 *
 * @example
 * ```ts
 * const alice = await createParty({ signer: createKeySigner(key), transport: hub.connect(address), store, sandbox, apps: [escrowApp] })
 * await alice.open(params, initialState)
 * await alice.confirmFunding(channelId, await getDeposits(client, channelId, params.participants))
 * const r = await alice.update(channelId, escrowActions.fund(10n, deadline))
 * ```
 */
export async function createParty(options: PartyOptions): Promise<Party> {
  const { transport, sandbox, signer } = options
  const store = guardStore(options.store)
  const address = signer.address
  if (lower(transport.self) !== lower(address)) {
    throw new ChanvmError('CONFIG', `transport is for ${transport.self}, the signer is ${address}`)
  }
  // Fail at start on a store that cannot write, not at the first signature.
  await store.probeWrite()
  const clock =
    options.clock ?? (() => ({ blockNumber: 0n, timestamp: BigInt(Math.floor(Date.now() / 1000)) }))
  const tolerance = options.envTolerance ?? { blocks: 10n, seconds: 60n }
  const timeoutMs = options.responseTimeoutMs ?? 10_000
  const maxRetries = options.maxRetries ?? 3
  const requireFunding = options.requireFunding ?? true
  let closed = false
  const emit = (e: PartyEvent) => {
    try {
      options.onEvent?.(e)
    } catch {
      /* a listener's failure is not the protocol's */
    }
  }
  const counters: Record<string, number> = {}
  const count = (reason: string) => (counters[reason] = (counters[reason] ?? 0) + 1)

  const apps = new Map<string, AppCode>()
  for (const a of options.apps) apps.set(lower(keccak256(a.code)), a)
  const findApp = (params: ChannelParams) => {
    const app = apps.get(lower(params.appCodeHash))
    if (app === undefined)
      throw new ChanvmError(
        'APP_CODE_MISMATCH',
        `no app with code hash ${params.appCodeHash} is registered with this party`,
      )
    return app
  }
  const newChannel = (id: Hex, params: ChannelParams, myIndex: number, app: AppCode): Channel => ({
    id,
    key: lower(id),
    params,
    myIndex,
    app,
    latest: undefined,
    forced: undefined,
    funded: !requireFunding,
    disputed: false,
    pending: undefined,
    opening: undefined,
    openResult: undefined,
    queue: Promise.resolve(),
    waiters: new Set(),
    syncTimer: undefined,
    offers: new Map(),
    own: new Map(),
    withdrawn: new Map(),
  })

  const channels = new Map<string, Channel>()
  for (const rec of await store.listChannels()) {
    const app = apps.get(lower(rec.params.appCodeHash))
    if (app === undefined) continue
    const ch = newChannel(rec.channelId, rec.params, rec.myIndex, app)
    ch.latest = await store.getLatestSignedState(rec.channelId)
    ch.forced = await store.getLatestForcedState(rec.channelId)
    ch.funded ||= (await store.getFunding(rec.channelId)) !== undefined
    ch.disputed = await store.isDisputed(rec.channelId)
    channels.set(ch.key, ch)
  }
  const held = new Map<string, Held[]>()
  const refusedForStore = new WeakSet<object>()
  let heldCount = 0

  /** Runs `f` after everything queued for the channel: one message or local action at a time. */
  const serial = <T>(ch: Channel, f: () => Promise<T>): Promise<T> => {
    const p = ch.queue.then(f)
    ch.queue = p.catch(() => undefined)
    return p
  }

  /** What the next step builds on: a newer adopted forced state (no signatures) or the latest co-signed one. */
  const baseOf = (ch: Channel): SignedState | undefined =>
    ch.forced !== undefined && (ch.latest === undefined || ch.forced.version > ch.latest.state.version)
      ? { state: ch.forced, signatures: [] }
      : ch.latest

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
  const others = (ch: Channel) => ch.params.participants.filter((_, i) => i !== ch.myIndex)
  const indexOf = (ch: Channel, a: string) => ch.params.participants.findIndex((p) => lower(p) === lower(a))
  const isPeer = (ch: Channel, a: unknown) =>
    typeof a === 'string' && indexOf(ch, a) >= 0 && indexOf(ch, a) !== ch.myIndex
  const digestOf = (ch: Channel, s: State) => hashState(ch.params.chainId, ch.params.adjudicator, s)
  const recovers = (digest: Hex, sig: unknown, who: string | undefined) => {
    if (typeof sig !== 'string' || who === undefined) return false
    const v = recoverDigestSigner(digest, sig as Hex)
    return v.ok && lower(v.signer) === lower(who)
  }
  /** Every participant's signature over `digest`, in order, as canonical strings; undefined if any fails. */
  const verifyAll = (ch: Channel, digest: Hex, sigs: unknown): Hex[] | undefined => {
    if (!Array.isArray(sigs) || sigs.length !== ch.params.participants.length) return undefined
    const out: Hex[] = []
    for (const [i, sig] of sigs.entries()) {
      const c = canonicalSignature(sig)
      if (c === undefined || !recovers(digest, c, ch.params.participants[i])) return undefined
      out.push(c)
    }
    return out
  }
  const commitOf = (ch: Channel, s: SignedState): PeerMessage => ({
    type: 'commit',
    channelId: ch.id,
    from: address,
    version: s.state.version.toString(),
    digest: digestOf(ch, s.state),
    sigs: [...s.signatures],
    state: stateToWire(s.state),
  })
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
  /** Reads what a peer shows it signed: the state, whether the peer's signature is on it, whether it is this party's own proposal. */
  const readShown = (ch: Channel, shown: NonNullable<Msg<'sync'>['signed']>, from: Address) => {
    const state = wireToState(shown.state)
    const digest = digestOf(ch, state)
    const sp = shown.proposal
    const ownProposal =
      sp !== undefined &&
      sp.mover === ch.myIndex &&
      lower(state.channelId) === ch.key &&
      recovers(
        hashProposal(ch.params, {
          channelId: ch.id,
          version: state.version,
          stateHash: digest,
          mover: BigInt(sp.mover),
          action: sp.action,
          ...wireToEnv(sp.env),
        }),
        sp.sig,
        address,
      )
    const sig = canonicalSignature(shown.sig)
    return {
      state,
      digest,
      sig,
      senderSigned: sig !== undefined && recovers(digest, sig, from),
      ownProposal: ownProposal && !ch.withdrawn.has(lower(digest)),
    }
  }
  /** Counts a peer's signature on this party's own proposal; returns the signatures once every other participant's is in. */
  const offer = (ch: Channel, state: State, digest: Hex, from: Address, sig: Hex) => {
    let o = ch.offers.get(lower(digest))
    if (o === undefined) ch.offers.set(lower(digest), (o = { state, sigs: new Map() }))
    o.sigs.set(lower(from), sig)
    return o.sigs.size === ch.params.participants.length - 1 ? o.sigs : undefined
  }
  /** Asks the others for the co-signed state at `version`, showing what this party signed there (if anything). */
  const askSync = async (ch: Channel, version: bigint, signedHere?: SignatureRecord) => {
    const signed = signedHere === undefined ? undefined : await showSigned(signedHere)
    for (const to of others(ch)) {
      emit({ type: 'sync', channelId: ch.id, version, direction: 'asked', peer: to })
      send(to, {
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
   * again: after `responseTimeoutMs`, then twice, four times … as long (at most 32 times), until it
   * arrives or the party closes.
   */
  const watchCommit = (ch: Channel, version: bigint, tries = 0) => {
    clearTimeout(ch.syncTimer)
    if (closed) return
    ch.syncTimer = setTimeout(
      () => {
        if (closed || (ch.latest !== undefined && ch.latest.state.version >= version)) return
        void store
          .getSignatureRecord(ch.id, version)
          .then((rec) => askSync(ch, version, rec))
          .catch(() => undefined)
        watchCommit(ch, version, tries + 1)
      },
      timeoutMs * 2 ** Math.min(tries, SYNC_BACKOFF_STEPS),
    )
    ch.syncTimer.unref()
  }

  const setLatest = async (ch: Channel, signed: SignedState, persist: boolean) => {
    if (persist) await store.putSignedState(ch.id, signed)
    if (ch.latest !== undefined && ch.latest.state.version >= signed.state.version) return
    ch.latest = signed
    ch.offers.clear()
    const at = signed.state.version
    for (const [k, o] of ch.own) if (o.version <= at) ch.own.delete(k)
    for (const [k, v] of ch.withdrawn) if (v <= at) ch.withdrawn.delete(k)
    emit({ type: 'committed', channelId: ch.id, state: signed.state, signatures: signed.signatures })
    if (ch.opening !== undefined) {
      const o = ch.opening
      ch.opening = undefined
      emit({ type: 'opened', channelId: ch.id, state: signed.state })
      o.done(signed)
    }
    if (ch.pending !== undefined && ch.pending.state.version <= signed.state.version) ch.pending.done('lost')
    for (const w of [...ch.waiters]) w()
  }

  /**
   * The one path by which this party's state signature leaves it: sign, durably record "I signed
   * version v with digest D" (and, when `others` holds every other participant's signature, the
   * co-signed state in the same write), and only then return the signature. Returns the existing
   * record when a different digest is recorded at that version.
   */
  const recordThenSign = async (
    ch: Channel,
    record: SignatureRecord,
    others?: Map<string, Hex>,
  ): Promise<{ ok: true; sig: Hex; signed?: SignedState } | { ok: false; existing: SignatureRecord }> => {
    if (ch.disputed && record.version > 0n) throw disputedError(ch)
    const sig = await signer.signDigest(record.digest)
    let signed: SignedState | undefined
    if (others !== undefined) {
      const signatures = ch.params.participants.map((a, i) => (i === ch.myIndex ? sig : others.get(lower(a))))
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
    for (const [k, o] of ch.own)
      if (o.version === record.version && k !== lower(record.digest)) ch.own.delete(k)
    emit({ type: 'signed', channelId: ch.id, version: record.version, digest: record.digest })
    if (signed !== undefined) await setLatest(ch, signed, false)
    return signed === undefined ? { ok: true, sig } : { ok: true, sig, signed }
  }

  /**
   * Signs again a digest read back from the store (an accept that was lost, what a refusal or a
   * sync request shows): recorded before, so nothing new leaves. `recordThenSign` is the only
   * path for a first signature.
   */
  const signAgain = (rec: SignatureRecord): Promise<Hex> => Promise.resolve(signer.signDigest(rec.digest))

  /** Signs last on a state every other participant signed, stores it co-signed and commits it to them. */
  const finishOwn = async (ch: Channel, state: State, digest: Hex, sigs: Map<string, Hex>) => {
    const r = await recordThenSign(ch, { channelId: ch.id, version: state.version, digest, state }, sigs)
    if (r.ok && r.signed !== undefined) for (const to of others(ch)) send(to, commitOf(ch, r.signed))
    if (!r.ok) withdraw(ch, digest, state.version)
    return r
  }
  /**
   * Finishes an own earlier proposal every other participant signed. With an update in flight at
   * that version, the update does it and reports it (`conflict` with `finished`, or its own
   * result): the action of that update must not be applied again on top.
   */
  const finishOffered = async (ch: Channel, state: State, digest: Hex, sigs: Map<string, Hex>) => {
    const p = ch.pending
    if (p !== undefined && p.state.version === state.version) return p.done({ finish: state, digest, sigs })
    await finishOwn(ch, state, digest, sigs)
  }
  /** An own proposal that a peer refused or that lost: not counted any more, never finished. */
  const withdraw = (ch: Channel, digest: Hex, version: bigint) => {
    ch.own.delete(lower(digest))
    if (ch.latest === undefined || ch.latest.state.version < version) ch.withdrawn.set(lower(digest), version)
  }

  const envWithin = async (env: Env): Promise<boolean> => {
    const mine = await clock()
    const db =
      env.blockNumber > mine.blockNumber
        ? env.blockNumber - mine.blockNumber
        : mine.blockNumber - env.blockNumber
    const dt =
      env.timestamp > mine.timestamp ? env.timestamp - mine.timestamp : mine.timestamp - env.timestamp
    return db <= tolerance.blocks && dt <= tolerance.seconds
  }
  const rerun = (ch: Channel, from: State, mover: bigint, action: Hex, env: Env) =>
    runTransition(sandbox, {
      params: ch.params,
      from,
      mover,
      action,
      env,
      appCode: ch.app.code,
      ...(ch.app.abi ? { appAbi: ch.app.abi } : {}),
    })

  /** Sends a signed `reject`; with `conflicting-signature`, shows what this party signed instead. */
  const refuse = async (
    ch: Channel,
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
  const drop = (reason: string, message: string) => {
    count(reason)
    emit({ type: 'dropped', reason, message })
  }

  // ---- receiving: one handler per message type ----------------------------------------------

  /** A proposal carries its base's signatures: a party that signed the base but missed its commit catches up. */
  const catchUp = async (ch: Channel, version: bigint, sigs: unknown) => {
    if (version < 0n || (ch.latest !== undefined && ch.latest.state.version >= version)) return
    if (!Array.isArray(sigs) || sigs.length === 0) return
    const rec = await store.getSignatureRecord(ch.id, version)
    const valid = rec === undefined ? undefined : verifyAll(ch, rec.digest, sigs)
    const d = decideCommit({
      version,
      latestVersion: ch.latest?.state.version,
      stateKnown: rec !== undefined,
      signaturesValid: valid !== undefined,
    })
    if (d.type === 'store' && rec !== undefined && valid !== undefined)
      await setLatest(ch, { state: rec.state, signatures: valid }, true)
  }

  const onPropose = async (ch: Channel, m: Msg<'propose'>) => {
    const state = wireToState(m.state)
    if (lower(state.channelId) !== ch.key)
      return drop('malformed', `proposal names channel ${state.channelId}`)
    const env = wireToEnv(m.env)
    const digest = digestOf(ch, state)
    const moverAddr = Number.isInteger(m.mover) ? ch.params.participants[m.mover] : undefined
    const moverMatches =
      moverAddr !== undefined && m.mover !== ch.myIndex && lower(moverAddr) === lower(m.from)
    const proposalDigest = hashProposal(ch.params, {
      channelId: ch.id,
      version: state.version,
      stateHash: digest,
      mover: BigInt(m.mover),
      action: m.action,
      ...env,
    })
    const signatureValid = moverMatches && recovers(proposalDigest, m.sig, moverAddr)
    try {
      if (signatureValid) await catchUp(ch, state.version - 1n, m.baseSigs)
      const base = baseOf(ch)?.state
      const facts: ProposalFacts = {
        version: state.version,
        digest,
        mover: m.mover,
        myIndex: ch.myIndex,
        moverMatches,
        signatureValid,
        funded: ch.funded,
        disputed: ch.disputed,
        base: base === undefined ? undefined : { version: base.version, isFinal: base.isFinal },
        latestVersion: ch.latest?.state.version,
        signedDigest: signatureValid
          ? (await store.getSignatureRecord(ch.id, state.version))?.digest
          : undefined,
        own:
          ch.pending?.state.version === state.version
            ? 'in-flight'
            : [...ch.own.values()].some((o) => o.version === state.version)
              ? 'unsettled'
              : undefined,
      }
      for (;;) {
        const d = decideProposal(facts)
        if (d.type === 'need') {
          if (d.fact === 'env') facts.envWithin = await envWithin(env)
          else if (d.fact === 'step') {
            const r = await rerun(ch, base as State, BigInt(m.mover), m.action, env)
            facts.step = r.ok
              ? { ok: true, sameState: encodeState(r.state) === encodeState(state) }
              : { ok: false, message: `${r.reason}: ${r.message}` }
          } else {
            facts.approval =
              options.approve === undefined
                ? true
                : await options.approve({
                    channelId: ch.id,
                    from: base as State,
                    to: state,
                    mover: m.mover,
                    action: m.action,
                    env,
                  })
          }
          continue
        }
        if (d.type === 'drop') return drop(d.reason, d.message)
        if (d.type === 'answer-again') {
          const rec = await store.getSignatureRecord(ch.id, state.version)
          if (rec === undefined || lower(rec.digest) !== lower(digest)) return
          send(m.from, {
            type: 'accept',
            channelId: ch.id,
            from: address,
            version: state.version.toString(),
            digest,
            sig: await signAgain(rec),
          })
          if (ch.latest === undefined || ch.latest.state.version < state.version)
            watchCommit(ch, state.version)
          return
        }
        if (d.yieldPending === true && ch.pending !== undefined) {
          const lost = ch.pending
          ch.pending = undefined
          lost.done('lost')
        }
        if (d.type === 'refuse') {
          const instead =
            d.attachSigned === true ? await store.getSignatureRecord(ch.id, state.version) : undefined
          await refuse(ch, m.from, state.version, digest, d.reason, d.message, instead)
          // This party's unsettled proposal at that version wins: the mover may sign it now.
          if (d.resendOwn === true)
            for (const o of ch.own.values()) if (o.version === state.version) send(m.from, o.msg)
          if (d.sendLatest === true && ch.latest !== undefined) send(m.from, commitOf(ch, ch.latest))
          if (d.syncFrom !== undefined) {
            emit({ type: 'sync', channelId: ch.id, version: d.syncFrom, direction: 'asked', peer: m.from })
            send(m.from, {
              type: 'sync',
              channelId: ch.id,
              from: address,
              version: d.syncFrom.toString(),
            })
          }
          return
        }
        const proposal: ProposalRecord = { mover: m.mover, action: m.action, env, sig: m.sig }
        const r = await recordThenSign(ch, {
          channelId: ch.id,
          version: state.version,
          digest,
          state,
          proposal,
        })
        if (!r.ok) {
          const message = `this party already signed a different state at version ${state.version}`
          return await refuse(ch, m.from, state.version, digest, 'conflicting-signature', message, r.existing)
        }
        send(m.from, {
          type: 'accept',
          channelId: ch.id,
          from: address,
          version: state.version.toString(),
          digest,
          sig: r.sig,
        })
        watchCommit(ch, state.version)
        return
      }
    } catch (e) {
      if (!isStoreError(e)) throw e
      // Nothing was recorded: refuse with a signed reason (no store needed to sign it), then fail
      // the handler so that the transport does not acknowledge the proposal.
      refusedForStore.add(e)
      await refuse(
        ch,
        m.from,
        state.version,
        digest,
        'store-error',
        `this party cannot write its store: ${describe(e)}`,
      ).catch(() => undefined)
      throw e
    }
  }

  const onAccept = async (ch: Channel, m: Msg<'accept'>) => {
    const version = BigInt(m.version)
    const p = ch.pending
    const unsettled = ch.own.get(lower(m.digest))
    const facts = {
      version,
      digest: m.digest,
      pending: p === undefined ? undefined : { version: p.state.version, digest: p.digest },
      unsettled: unsettled !== undefined && unsettled.version === version,
      fromIndex: indexOf(ch, m.from),
      myIndex: ch.myIndex,
    }
    let d = decideAccept(facts)
    if (d.type === 'need') d = decideAccept({ ...facts, signatureValid: recovers(m.digest, m.sig, m.from) })
    if (d.type === 'drop') return drop(d.reason, d.message)
    if (d.type === 'offer' && unsettled !== undefined) {
      // A late accept of an own proposal whose update ended: finish it once every peer signed.
      const state = wireToState(unsettled.msg.state)
      const sigs = offer(ch, state, m.digest, m.from, canonicalSignature(m.sig) as Hex)
      if (sigs !== undefined) await finishOffered(ch, state, m.digest, sigs)
      return
    }
    if (d.type !== 'take' || p === undefined) return
    p.accepts.set(lower(m.from), canonicalSignature(m.sig) as Hex)
    if (p.accepts.size === ch.params.participants.length - 1) p.done('complete')
  }

  const onReject = async (ch: Channel, m: Msg<'reject'>) => {
    const version = BigInt(m.version)
    const reason = String(m.reason)
    const message = String(m.message)
    // The refusal is of the proposal in flight, or of an unsettled one (sent again after a crossing).
    const inFlight =
      ch.pending !== undefined && lower(ch.pending.digest) === lower(m.digest) ? ch.pending : undefined
    const unsettled = inFlight === undefined ? ch.own.get(lower(m.digest)) : undefined
    const p = inFlight
    const about =
      inFlight !== undefined
        ? { version: inFlight.state.version, digest: inFlight.digest }
        : unsettled !== undefined
          ? { version: unsettled.version, digest: m.digest }
          : undefined
    const shown = m.signed !== undefined && about !== undefined ? readShown(ch, m.signed, m.from) : undefined
    const facts = {
      version,
      digest: m.digest,
      reason,
      pending: about,
      fromIsPeer: isPeer(ch, m.from),
      ...(shown === undefined
        ? {}
        : {
            signed: {
              version: shown.state.version,
              digest: shown.digest,
              refuserSigned: shown.senderSigned,
              ownProposal: shown.ownProposal,
            },
          }),
    }
    let d = decideReject(facts)
    if (d.type === 'need') {
      const rd = hashReject(ch.params, { channelId: ch.id, version, stateHash: m.digest, reason, message })
      d = decideReject({ ...facts, signatureValid: recovers(rd, m.sig, m.from) })
    }
    if (d.type === 'drop') return drop(d.reason, d.message)
    if (d.type === 'ignore' || about === undefined) return
    emit({ type: 'peer-refused', channelId: ch.id, version, from: m.from, reason, message })
    // The refuser recorded nothing and sees the proposal again when its transport redelivers it.
    if (d.type === 'wait') return
    if (p === undefined) {
      // An unsettled proposal: a verdict on it withdraws it, so that it stops counting.
      if (d.type === 'lost' || d.type === 'fail') return withdraw(ch, m.digest, version)
      if (d.type === 'resend') {
        if (ch.latest !== undefined) send(m.from, commitOf(ch, ch.latest))
        return
      }
      const s = shown as NonNullable<typeof shown>
      const sigs = offer(ch, s.state, s.digest, m.from, s.sig as Hex)
      if (sigs !== undefined) await finishOffered(ch, s.state, s.digest, sigs)
      return
    }
    if (d.type === 'lost') {
      if (reason === 'conflicting-signature') void askSync(ch, version)
      return p.done('lost')
    }
    if (d.type === 'resend') {
      if (ch.latest !== undefined) send(m.from, commitOf(ch, ch.latest))
      return p.done('retry')
    }
    if (d.type === 'fail')
      return p.done({ ok: false, reason: 'peer-rejected', from: m.from, peerReason: reason, message })
    // finish: the refuser signed this party's own earlier proposal; once every other participant has, finish it.
    const s = shown as NonNullable<typeof shown>
    const sigs = offer(ch, s.state, s.digest, m.from, s.sig as Hex)
    if (sigs !== undefined) p.done({ finish: s.state, digest: s.digest, sigs })
  }

  const onCommit = async (ch: Channel, m: Msg<'commit'>) => {
    const version = BigInt(m.version)
    const facts = { version, latestVersion: ch.latest?.state.version }
    if (decideCommit({ ...facts, stateKnown: true }).type === 'ignore') return
    let state: State | undefined
    if (m.state !== undefined) state = wireToState(m.state)
    else {
      const rec = await store.getSignatureRecord(ch.id, version)
      if (rec !== undefined && lower(rec.digest) === lower(m.digest)) state = rec.state
    }
    const known = { ...facts, stateKnown: state !== undefined }
    let d = decideCommit(known)
    let sigs: Hex[] | undefined
    if (d.type === 'need' && state !== undefined) {
      const digest = digestOf(ch, state)
      sigs =
        lower(digest) === lower(m.digest) && state.version === version && lower(state.channelId) === ch.key
          ? verifyAll(ch, digest, m.sigs)
          : undefined
      d = decideCommit({ ...known, signaturesValid: sigs !== undefined })
    }
    if (d.type === 'drop') return drop(d.reason, d.message)
    if (d.type !== 'store' || state === undefined || sigs === undefined) return
    await setLatest(ch, { state, signatures: sigs }, true)
  }

  const onSync = async (ch: Channel, m: Msg<'sync'>) => {
    const version = BigInt(m.version)
    const fromIsPeer = isPeer(ch, m.from)
    const shown = m.signed !== undefined && fromIsPeer ? readShown(ch, m.signed, m.from) : undefined
    const d = decideSync({
      version,
      fromIsPeer,
      latestVersion: ch.latest?.state.version,
      disputed: ch.disputed,
      ...(shown === undefined
        ? {}
        : {
            shown: {
              version: shown.state.version,
              senderSigned: shown.senderSigned,
              ownProposal: shown.ownProposal,
            },
          }),
    })
    if (d.type === 'answer' && ch.latest !== undefined) {
      emit({
        type: 'sync',
        channelId: ch.id,
        version: ch.latest.state.version,
        direction: 'answered',
        peer: m.from,
      })
      return send(m.from, commitOf(ch, ch.latest))
    }
    if (d.type !== 'finish' || shown === undefined) return
    // The sender signed this party's own proposal at that version (its accept was lost, or this
    // party gave up waiting): once every other participant has, finish it.
    const sigs = offer(ch, shown.state, shown.digest, m.from, shown.sig as Hex)
    if (sigs !== undefined) await finishOffered(ch, shown.state, shown.digest, sigs)
  }

  const onOpen = async (ch: Channel, m: Msg<'open'>) => {
    const o = ch.opening
    const facts = {
      opening: o === undefined ? undefined : { digest: o.digest },
      latestVersion: ch.latest?.state.version,
      fromIsPeer: isPeer(ch, m.from),
    }
    let d = decideOpen(facts)
    if (d.type === 'need' && o !== undefined)
      d = decideOpen({ ...facts, signatureValid: recovers(o.digest, m.sig, m.from) })
    if (d.type === 'hold') return drop('not-opening', 'an open for a channel this party failed to open')
    if (d.type === 'drop') return drop(d.reason, d.message)
    if (d.type === 'answer-latest' && ch.latest !== undefined) return send(m.from, commitOf(ch, ch.latest))
    if (d.type !== 'take' || o === undefined) return
    o.sigs.set(lower(m.from), canonicalSignature(m.sig) as Hex)
    await completeOpen(ch)
  }
  const completeOpen = async (ch: Channel) => {
    const o = ch.opening
    if (o === undefined || o.sigs.size !== ch.params.participants.length) return
    const signed = {
      state: o.state,
      signatures: ch.params.participants.map((a) => o.sigs.get(lower(a)) as Hex),
    }
    await setLatest(ch, signed, true)
    // A peer may have handed its open to this party and lost this party's own: it gets the result.
    for (const to of others(ch)) send(to, commitOf(ch, signed))
  }

  /** Keeps an `open` for a channel not opened here yet; its promise settles when it is handled or given up. */
  const hold = (m: Msg<'open'>): Promise<void> => {
    const ch = channels.get(lower(m.channelId))
    if (ch !== undefined && (ch.openResult !== undefined || ch.latest !== undefined)) return dispatch(m)
    const list = held.get(lower(m.channelId)) ?? []
    if (list.length >= MAX_HELD_PER_CHANNEL || heldCount >= MAX_HELD)
      return Promise.resolve(drop('unknown-channel', `too many opens held for channels not opened here`))
    held.set(lower(m.channelId), list)
    heldCount++
    return new Promise<void>((resolve, reject) => {
      const h: Held = {
        m,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = list.indexOf(h)
          if (i >= 0) {
            list.splice(i, 1)
            heldCount--
          }
          // Dropped, not left unacknowledged: a redelivered open would only be held again and
          // fill the broker's in-flight window. The opener still completes: this party's own open
          // (when it opens) is answered with the co-signed state.
          drop('unknown-channel', `an open for ${m.channelId} not opened here in time`)
          resolve()
        }, timeoutMs * 3),
      }
      h.timer.unref()
      list.push(h)
    })
  }
  const releaseHeld = (channelKey: string) => {
    const list = held.get(channelKey)
    if (list === undefined) return
    held.delete(channelKey)
    for (const h of list) {
      heldCount--
      clearTimeout(h.timer)
      dispatch(h.m).then(h.resolve, h.reject)
    }
  }

  /**
   * Hands one message to its handler on the channel's queue. Resolves once whatever the message
   * made the party store is durable (malformed and forged messages resolve: there is nothing to
   * redeliver, and so do messages for a channel this party does not hold); rejects on a store
   * error, so that the transport does not acknowledge it.
   */
  const dispatch = async (m: PeerMessage): Promise<void> => {
    if (closed) throw new ChanvmError('TRANSPORT_CLOSED', 'the party is closed')
    const t = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined
    if (
      typeof m !== 'object' ||
      m === null ||
      typeof m.channelId !== 'string' ||
      typeof t !== 'string' ||
      !MESSAGE_TYPES.has(t)
    ) {
      return drop('malformed', `malformed message or unknown type ${JSON.stringify(t)}`)
    }
    const ch = channels.get(lower(m.channelId))
    if (m.type === 'open' && (ch === undefined || (ch.openResult === undefined && ch.latest === undefined)))
      return hold(m)
    // A message for a channel this party does not hold is acknowledged and dropped: left
    // unacknowledged it would be redelivered for ever and hold a slot of the broker's in-flight
    // window. Nothing is lost by it: a peer's later open is answered with the latest commit, and
    // proposals and sync requests are sent again.
    if (ch === undefined) return drop('unknown-channel', `no channel ${m.channelId} here`)
    const run = async (): Promise<void> => {
      switch (m.type) {
        case 'propose':
          return onPropose(ch, m)
        case 'accept':
          return onAccept(ch, m)
        case 'reject':
          return onReject(ch, m)
        case 'commit':
          return onCommit(ch, m)
        case 'sync':
          return onSync(ch, m)
        case 'open':
          return onOpen(ch, m)
      }
    }
    await serial(ch, async () => {
      try {
        return await run()
      } catch (e) {
        if (isStoreError(e)) {
          if (!refusedForStore.has(e)) count('store-error') // a refusal counted it already
          emit({ type: 'store-error', channelId: ch.id, message: describe(e) })
          throw e
        }
        drop('malformed', (e as Error).message)
      }
    })
  }
  const unsubscribe = transport.onMessage(dispatch)

  // Re-sync at start-up: the others get the latest co-signed state again (a commit may have been
  // lost with this process), and a signature held above it asks for the commit that never came.
  for (const ch of channels.values()) {
    if (ch.latest !== undefined) for (const to of others(ch)) send(to, commitOf(ch, ch.latest))
    const next = (ch.latest?.state.version ?? -1n) + 1n
    const signedNext = await store.getSignatureRecord(ch.id, next)
    if (signedNext !== undefined) {
      await askSync(ch, next, signedNext)
      watchCommit(ch, next)
    }
  }

  // ---- acting -------------------------------------------------------------------------------

  const getCh = (channelId: Hex) => {
    const ch = channels.get(lower(channelId))
    if (ch === undefined)
      throw new ChanvmError('CHANNEL_NOT_FOUND', 'this party does not hold the channel', { channelId })
    return ch
  }

  const open = async (params: ChannelParams, initial: State): Promise<SignedState> => {
    const channelId = getChannelId(params)
    const myIndex = params.participants.findIndex((a) => lower(a) === lower(address))
    if (myIndex < 0)
      throw new ChanvmError('NOT_PARTICIPANT', `${address} is not a participant`, { channelId })
    if (lower(initial.channelId) !== lower(channelId))
      throw new ChanvmError('INVALID_ARGUMENT', 'initial state is for another channel', { channelId })
    if (initial.version !== 0n)
      throw new ChanvmError('INVALID_ARGUMENT', 'the initial state has version 0', { channelId })
    if (initial.balances.length !== params.participants.length)
      throw new ChanvmError('INVALID_ARGUMENT', 'one balance per participant', { channelId })
    const app = findApp(params)
    let ch = channels.get(lower(channelId))
    if (ch?.latest !== undefined) return ch.latest
    if (ch === undefined) {
      await store.putChannel({ channelId, params, myIndex })
      ch = newChannel(channelId, params, myIndex, app)
      ch.funded ||= (await store.getFunding(channelId)) !== undefined
      channels.set(ch.key, ch)
    }
    const c = ch
    if (c.openResult !== undefined)
      return withTimeout(
        c.openResult,
        timeoutMs * 3,
        () =>
          new ChanvmError('PEER_TIMEOUT', 'not every participant signed the initial state in time', {
            channelId,
          }),
      )
    // The section only starts the open (a wrapped promise, so the queue does not wait for the peers).
    const started = serial(c, async () => {
      if (c.latest !== undefined) return { signed: Promise.resolve(c.latest) }
      const digest = digestOf(c, initial)
      const signed = new Promise<SignedState>((resolve) => {
        const sigs =
          c.opening !== undefined && lower(c.opening.digest) === lower(digest)
            ? c.opening.sigs
            : new Map<string, Hex>()
        c.opening = { digest, state: initial, sigs, done: resolve }
      })
      const r = await recordThenSign(c, { channelId, version: 0n, digest, state: initial })
      if (!r.ok) {
        c.opening = undefined
        throw new ChanvmError('CONFLICTING_SIGNATURE', 'this party signed a different initial state', {
          channelId,
        })
      }
      c.opening?.sigs.set(lower(address), r.sig)
      const msg: PeerMessage = {
        type: 'open',
        channelId,
        from: address,
        params: paramsToWire(params),
        state: stateToWire(initial),
        sig: r.sig,
      }
      for (const to of others(c)) send(to, msg)
      await completeOpen(c)
      return { signed }
    })
    const result = started.then((s) => s.signed)
    c.openResult = result
    result.catch(() => {
      if (c.openResult === result) c.openResult = undefined
    })
    releaseHeld(c.key)
    return withTimeout(
      result,
      timeoutMs * 3,
      () =>
        new ChanvmError('PEER_TIMEOUT', 'not every participant signed the initial state in time', {
          channelId,
        }),
    )
  }

  const confirmFunding = async (channelId: Hex, deposited: readonly bigint[]): Promise<FundingResult> => {
    const ch = getCh(channelId)
    if (deposited.length !== ch.params.participants.length) {
      throw new ChanvmError('INVALID_ARGUMENT', 'one deposit per participant', { channelId })
    }
    return serial(ch, async () => {
      const initial = ch.latest?.state.version === 0n ? ch.latest : await store.getSignedState(ch.id, 0n)
      if (initial === undefined)
        throw new ChanvmError('INVALID_ARGUMENT', 'the channel is not open yet', { channelId })
      const missing = decideFunding(initial.state.balances, deposited)
      if (missing.length > 0) {
        return {
          ok: false,
          reason: 'underfunded',
          missing,
          message: `participants ${missing.join(', ')} have not deposited their initial balance`,
        } as const
      }
      await store.putFunding(ch.id, deposited)
      ch.funded = true
      emit({ type: 'funded', channelId: ch.id, deposited })
      return { ok: true } as const
    })
  }

  const proposeOnce = async (
    ch: Channel,
    action: Hex,
    envOpt: Env | undefined,
  ): Promise<UpdateResult | 'lost' | 'retry'> => {
    const prepared = await serial(ch, async () => {
      if (ch.disputed) throw disputedError(ch)
      if (!ch.funded)
        return {
          result: {
            ok: false,
            reason: 'unfunded',
            message: 'not every participant has funded the channel (confirmFunding)',
          } as UpdateResult,
        }
      const base = baseOf(ch)
      if (base === undefined)
        throw new ChanvmError('CHANNEL_NOT_FOUND', 'the channel has no co-signed state yet', {
          channelId: ch.id,
        })
      if (ch.pending !== undefined)
        throw new ChanvmError('INVALID_ARGUMENT', 'an update of this channel is already in flight', {
          channelId: ch.id,
        })
      const env = envOpt ?? (await clock())
      const r = await rerun(ch, base.state, BigInt(ch.myIndex), action, env)
      if (!r.ok) return { result: { ok: false, reason: 'step-rejected', step: r } as UpdateResult }
      const digest = digestOf(ch, r.state)
      const own = await store.getSignatureRecord(ch.id, r.state.version)
      if (own !== undefined && lower(own.digest) !== lower(digest)) {
        // This party signed a peer's state at this version and waits for its commit: it asks for
        // it and retries on top. It never signs a second state at one version.
        await askSync(ch, r.state.version, own)
        return { result: 'lost' as const }
      }
      let done!: (o: Outcome) => void
      const outcome = new Promise<Outcome>((res) => (done = res))
      const pending: Pending = { state: r.state, digest, accepts: new Map(), done }
      ch.pending = pending
      const sig = await signer.signDigest(
        hashProposal(ch.params, {
          channelId: ch.id,
          version: r.state.version,
          stateHash: digest,
          mover: BigInt(ch.myIndex),
          action,
          ...env,
        }),
      )
      const msg: Msg<'propose'> = {
        type: 'propose',
        channelId: ch.id,
        from: address,
        state: stateToWire(r.state),
        mover: ch.myIndex,
        action,
        env: envToWire(env),
        baseSigs: [...base.signatures],
        sig,
      }
      // It counts until a verdict on it, also after this update ends without one (docs/protocol.md).
      ch.own.set(lower(digest), { version: r.state.version, msg })
      ch.withdrawn.delete(lower(digest))
      emit({ type: 'proposed', channelId: ch.id, version: r.state.version, mover: ch.myIndex })
      for (const to of others(ch)) send(to, msg)
      return { outcome, pending, gasUsed: r.gasUsed }
    })
    if ('result' in prepared) return prepared.result
    const { pending } = prepared
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      prepared.outcome,
      new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs))),
    ])
    clearTimeout(timer)
    return serial(ch, async (): Promise<UpdateResult | 'lost' | 'retry'> => {
      if (ch.pending === pending) ch.pending = undefined
      if (outcome === 'timeout')
        return {
          ok: false,
          reason: 'peer-timeout',
          missing: others(ch).filter((a) => !pending.accepts.has(lower(a))),
        }
      if (outcome === 'lost' || outcome === 'retry') {
        // Lost to another state at this version, or refused by a peer that was behind (proposed
        // again at once): this very proposal is not finished later.
        withdraw(ch, pending.digest, pending.state.version)
        return outcome
      }
      if (outcome === 'disputed' || ch.disputed) throw disputedError(ch)
      if (typeof outcome === 'object' && 'ok' in outcome && outcome.reason === 'peer-rejected')
        withdraw(ch, pending.digest, pending.state.version)
      if (outcome === 'complete') {
        // Every other participant signed: the mover signs last, records its signature together
        // with the co-signed state (one disk sync), and only then lets it leave in the commit.
        const r = await finishOwn(ch, pending.state, pending.digest, pending.accepts)
        if (!r.ok || r.signed === undefined)
          return {
            ok: false,
            reason: 'conflict',
            message: `this party already signed a different state at version ${pending.state.version}`,
          }
        return { ok: true, signed: r.signed, gasUsed: prepared.gasUsed }
      }
      if ('finish' in outcome) {
        // The others signed this party's earlier proposal at this version: finish that state. The
        // action is not retried on top of it (it may be the same action): the caller decides.
        const r = await finishOwn(ch, outcome.finish, outcome.digest, outcome.sigs)
        if (!r.ok || r.signed === undefined)
          return {
            ok: false,
            reason: 'conflict',
            message: `this party already signed a different state at version ${outcome.finish.version}`,
          }
        if (lower(outcome.digest) === lower(pending.digest))
          return { ok: true, signed: r.signed, gasUsed: prepared.gasUsed }
        return {
          ok: false,
          reason: 'conflict',
          message: `the others had signed this party's earlier proposal at version ${outcome.finish.version}; it is co-signed now, the action was not applied`,
          finished: r.signed,
        }
      }
      return outcome
    })
  }

  const update = async (channelId: Hex, action: Hex, opts: { env?: Env } = {}): Promise<UpdateResult> => {
    const ch = getCh(channelId)
    for (let attempt = 0; ; attempt++) {
      const before = baseOf(ch)?.state.version ?? -1n
      const r = await proposeOnce(ch, action, opts.env).catch((e: unknown) => {
        if (isStoreError(e)) emit({ type: 'store-error', channelId: ch.id, message: describe(e) })
        throw e
      })
      if (r !== 'lost' && r !== 'retry') return r
      if (attempt >= maxRetries) {
        return {
          ok: false,
          reason: 'conflict',
          message: `no co-signed version after ${attempt + 1} tries: a peer's proposal at the same version won, or this party signed a peer's state whose commit never came`,
        }
      }
      // Wait for the winner's state, then try again on top of it (at once when a peer was behind).
      if (r === 'lost') await waitForVersion(channelId, before + 1n, timeoutMs).catch(() => undefined)
    }
  }

  const waitForVersion = (channelId: Hex, version: bigint, ms = timeoutMs): Promise<SignedState> => {
    const ch = getCh(channelId)
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ch.latest !== undefined && ch.latest.state.version >= version) {
          ch.waiters.delete(check)
          clearTimeout(timer)
          resolve(ch.latest)
        }
      }
      const timer = setTimeout(() => {
        ch.waiters.delete(check)
        reject(
          new ChanvmError('PEER_TIMEOUT', `version ${version} was not co-signed within ${ms} ms`, {
            channelId,
          }),
        )
      }, ms)
      ch.waiters.add(check)
      check()
    })
  }

  const markDisputed = async (channelId: Hex): Promise<void> => {
    const ch = getCh(channelId)
    // Refuse at once, before the record is on disk (and even if it cannot be written).
    const first = !ch.disputed
    ch.disputed = true
    ch.pending?.done('disputed')
    await serial(ch, async () => {
      ch.pending?.done('disputed')
      await store.putDisputed(ch.id)
      if (first) emit({ type: 'disputed', channelId: ch.id })
    })
  }

  const adoptForcedChain: Party['adoptForcedChain'] = async (chain) => {
    const ch = getCh(chain.channelId)
    return serial(ch, async (): Promise<AdoptResult> => {
      const d = decideForcedChain({ chain, latest: ch.latest?.state, adopted: ch.forced })
      const tip = chain.moves.at(-1)?.state ?? chain.base
      if (d.type === 'already') return { ok: true, state: tip }
      if (d.type === 'reject') return { ok: false, reason: d.reason, message: d.message }
      let from = chain.base
      for (const [i, move] of chain.moves.entries()) {
        if (move.mover < 0n || move.mover >= BigInt(ch.params.participants.length)) {
          return { ok: false, reason: 'broken-chain', message: `move ${i} names mover ${move.mover}` }
        }
        const r = await rerun(ch, from, move.mover, move.action, move.env)
        if (!r.ok)
          return {
            ok: false,
            reason: 'mismatch',
            message: `re-running move ${i} (version ${move.state.version}) fails: ${r.reason}: ${r.message}`,
          }
        if (encodeState(r.state) !== encodeState(move.state)) {
          return {
            ok: false,
            reason: 'mismatch',
            message: `re-running move ${i} gives a different state than the chain's version ${move.state.version}`,
          }
        }
        from = move.state
      }
      await store.putForcedState(ch.id, tip)
      ch.forced = tip
      emit({ type: 'adopted', channelId: ch.id, state: tip })
      return { ok: true, state: tip }
    })
  }

  return {
    address,
    open,
    confirmFunding,
    update,
    waitForVersion,
    adoptForcedChain,
    markDisputed,
    base: async (channelId) => baseOf(getCh(channelId))?.state,
    phase: (channelId) => {
      const ch = getCh(channelId)
      const base = baseOf(ch)?.state
      return channelPhase({
        baseVersion: base?.version,
        baseIsFinal: base?.isFinal === true,
        funded: ch.funded,
        proposing: ch.pending !== undefined,
        disputed: ch.disputed,
      })
    },
    latest: async (channelId) => getCh(channelId).latest,
    stats: () => ({ ...counters }),
    async close() {
      closed = true
      unsubscribe()
      for (const key of [...held.keys()]) {
        for (const h of held.get(key) ?? []) {
          clearTimeout(h.timer)
          h.reject(new ChanvmError('TRANSPORT_CLOSED', 'the party is closed', { channelId: h.m.channelId }))
        }
        held.delete(key)
      }
      heldCount = 0
      for (const ch of channels.values()) {
        clearTimeout(ch.syncTimer)
        ch.pending?.done({ ok: false, reason: 'peer-timeout', missing: [] })
      }
      // Let what is queued finish (it may still write to the store), within reason.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...channels.values()].map((ch) => ch.queue)),
        new Promise((res) => (timer = setTimeout(res, timeoutMs))),
      ])
      clearTimeout(timer)
    },
  }
}

/** The store behind a party: every failure of it is a `STORE_ERROR` naming the call, whatever the store threw. */
function guardStore(store: ChannelStore): ChannelStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) =>
        Promise.resolve()
          .then(() => (value as (...a: unknown[]) => unknown).apply(target, args))
          .catch((e: unknown) => {
            if (isStoreError(e)) throw e
            throw new ChanvmError('STORE_ERROR', `store: ${String(prop)} failed: ${describe(e)}`, {
              cause: e,
            })
          })
    },
  })
}

/** The store error's own words: its code (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY) and message. */
function describe(e: unknown): string {
  const root = e instanceof ChanvmError && e.cause !== undefined ? e.cause : e
  const code = (root as { code?: unknown } | undefined)?.code
  const message = root instanceof Error ? root.message : String(root)
  return typeof code === 'string' && code !== 'STORE_ERROR' ? `${code}: ${message}` : message
}

/** The error of a step asked for on a channel in dispute. */
function disputedError(ch: { id: Hex }): ChanvmError {
  return new ChanvmError(
    'DISPUTED',
    'a dispute is registered on chain for this channel: no new off-chain step is proposed or signed',
    { channelId: ch.id },
  )
}

function withTimeout<T>(p: Promise<T>, ms: number, err: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(err()), ms))),
  ]).finally(() => clearTimeout(timer))
}
