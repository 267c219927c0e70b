import { keccak256, type Abi, type Address, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { ChanvmError } from '../errors.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import { hashState } from '../channel/hashState.ts'
import { encodeState } from '../channel/encodeState.ts'
import { paramsToWire, stateToWire, wireToState } from '../channel/wire.ts'
import type { ChannelParams, Env, SignedState, State } from '../channel/types.ts'
import { signDigest } from '../crypto/signDigest.ts'
import { recoverDigestSigner } from '../crypto/recoverDigestSigner.ts'
import { runTransition, type StepResult } from '../sandbox/runTransition.ts'
import type { Sandbox } from '../sandbox/createSandbox.ts'
import type { ChannelStore } from '../store/types.ts'
import type { PeerMessage, PeerTransport } from '../transport/types.ts'
import { hashProposal, hashReject } from './messageDigests.ts'

/** An app the party can run: runtime code (its keccak256 is the channel's `appCodeHash`) and ABI. */
export type AppCode = { code: Hex; abi?: Abi }

export type PartyOptions = {
  privateKey: Hex
  transport: PeerTransport
  store: ChannelStore
  sandbox: Sandbox
  /** The apps this party agrees to run, found by code hash. */
  apps: readonly AppCode[]
  /**
   * This party's view of the chain head and the time. A proposal's env is accepted only within
   * `envTolerance` of it. Default: block 0 and the host clock in seconds.
   */
  clock?: () => Env | Promise<Env>
  /** Default: 10 blocks, 60 seconds. */
  envTolerance?: { blocks: bigint; seconds: bigint }
  /** How long a proposer waits for every other participant. Default 10,000 ms. */
  responseTimeoutMs?: number
  /** How often an update that lost a simultaneous proposal is retried on the new state. Default 3. */
  maxRetries?: number
  /** Every step the party takes or refuses, for logs and the command line. */
  onEvent?: (event: PartyEvent) => void
  /**
   * This party's policy: asked about every valid step a peer proposes (after the signature, env
   * and re-run checks, before anything is recorded). Return `true` to sign, or a reason to refuse
   * with a signed `reject` (`refused`). Default: sign every valid step.
   */
  approve?: (step: ProposedStep) => boolean | string | Promise<boolean | string>
  /**
   * Fault injection for crash tests: called after a signature is durably recorded and before it
   * is sent. Never set in production.
   */
  afterRecordSignature?: (channelId: Hex, version: bigint) => void
}

export type PartyEvent =
  | { type: 'opened'; channelId: Hex; state: State }
  | { type: 'proposed'; channelId: Hex; version: bigint; mover: number }
  | { type: 'signed'; channelId: Hex; version: bigint; digest: Hex }
  | { type: 'committed'; channelId: Hex; state: State; signatures: readonly Hex[] }
  | { type: 'refused'; channelId: Hex; version: bigint; from: Address; reason: RefusalReason; message: string }
  | { type: 'peer-refused'; channelId: Hex; version: bigint; from: Address; reason: string; message: string }
  | { type: 'dropped'; reason: string; message: string }
  | { type: 'adopted'; channelId: Hex; state: State }

/** A step the Adjudicator applied on chain, as the watcher reports it. */
export type ForcedStep = { channelId: Hex; state: State; base: State | undefined; mover: bigint; action: Hex; env: Env }

/** A valid step a peer proposes, as shown to {@link PartyOptions.approve}. */
export type ProposedStep = { channelId: Hex; from: State; to: State; mover: number; action: Hex; env: Env }

/** Why this party refused a peer's proposal. */
export type RefusalReason =
  | 'refused'
  | 'stale'
  | 'version-gap'
  | 'conflict'
  | 'env'
  | 'step-rejected'
  | 'state-mismatch'
  | 'conflicting-signature'
  | 'bad-signature'
  | 'final'

export type UpdateResult =
  | { ok: true; signed: SignedState; gasUsed: bigint }
  | { ok: false; reason: 'step-rejected'; step: Extract<StepResult, { ok: false }> }
  | { ok: false; reason: 'peer-rejected'; from: Address; peerReason: string; message: string }
  | { ok: false; reason: 'peer-timeout'; missing: Address[] }
  | { ok: false; reason: 'conflict'; message: string }

export type Party = {
  readonly address: Address
  /**
   * Co-signs the channel's initial state (version 0) with every participant. Each participant
   * calls it with the same params and state; resolves with the co-signed state.
   */
  open(params: ChannelParams, initial: State): Promise<SignedState>
  /**
   * Runs `action` as this party's move on the latest co-signed state, has every other participant
   * re-run and sign it, then signs it last and stores it. A rejected step, a peer's refusal or a
   * timeout is a result, not an exception.
   */
  update(channelId: Hex, action: Hex, options?: { env?: Env }): Promise<UpdateResult>
  /** The latest co-signed state, as stored. */
  latest(channelId: Hex): Promise<SignedState | undefined>
  /**
   * Takes a state forced on chain (reported by the watcher) as the base of the next off-chain step,
   * after re-running the step in this party's sandbox and finding exactly that state. Ignored
   * (`stale`) when this party already holds that version or a newer one.
   */
  adoptForcedState(forced: ForcedStep): Promise<{ ok: true } | { ok: false; reason: 'stale' | 'no-base' | 'mismatch'; message: string }>
  /** The state the next step builds on: the latest co-signed state, or a newer adopted forced one. */
  base(channelId: Hex): Promise<State | undefined>
  /** Waits until the latest co-signed version is at least `version`. */
  waitForVersion(channelId: Hex, version: bigint, timeoutMs?: number): Promise<SignedState>
  /** Counts of refused and dropped messages by reason. */
  stats(): Record<string, number>
  close(): Promise<void>
}

type Pending = {
  state: State
  digest: Hex
  accepts: Map<string, Hex>
  done: (r: UpdateResult | 'lost') => void
}

type Channel = {
  params: ChannelParams
  myIndex: number
  app: AppCode
  latest: SignedState | undefined
  /** A forced state adopted as the base, when newer than `latest`. */
  forced: State | undefined
  pending: Pending | undefined
  /** open() in progress: signatures collected over the initial state. */
  opening: { digest: Hex; sigs: Map<string, Hex>; done: (s: SignedState) => void } | undefined
  queue: Promise<unknown>
  waiters: Set<() => void>
}

const lower = (a: string) => a.toLowerCase()

/**
 * Creates a party: one participant's side of the off-chain update protocol (docs/protocol.md).
 * Channels already in `store` are loaded and continue where they stopped.
 *
 * @example
 * ```ts
 * const alice = await createParty({ privateKey, transport: hub.connect(aliceAddress), store, sandbox, apps: [escrowApp] })
 * await alice.open(params, initialState)
 * const r = await alice.update(channelId, escrowActions.fund(10n, deadline))
 * ```
 */
export async function createParty(options: PartyOptions): Promise<Party> {
  const { store, transport, sandbox } = options
  const address = privateKeyToAddress(options.privateKey)
  if (lower(transport.self) !== lower(address)) {
    throw new ChanvmError('CONFIG', `transport is for ${transport.self}, the key is ${address}`)
  }
  const clock = options.clock ?? (() => ({ blockNumber: 0n, timestamp: BigInt(Math.floor(Date.now() / 1000)) }))
  const tolerance = options.envTolerance ?? { blocks: 10n, seconds: 60n }
  const timeoutMs = options.responseTimeoutMs ?? 10_000
  const maxRetries = options.maxRetries ?? 3
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
    if (app === undefined) throw new ChanvmError('APP_CODE_MISMATCH', `no app with code hash ${params.appCodeHash} is registered with this party`)
    return app
  }

  const channels = new Map<string, Channel>()
  const early = new Map<string, PeerMessage[]>() // messages for channels not opened yet
  for (const rec of await store.listChannels()) {
    const app = apps.get(lower(rec.params.appCodeHash))
    if (app === undefined) continue
    channels.set(lower(rec.channelId), {
      params: rec.params,
      myIndex: rec.myIndex,
      app,
      latest: await store.getLatestSignedState(rec.channelId),
      forced: await store.getLatestForcedState(rec.channelId),
      pending: undefined,
      opening: undefined,
      queue: Promise.resolve(),
      waiters: new Set(),
    })
  }

  /** Runs `f` after everything queued for the channel: one message or step at a time. */
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

  const send = (to: Address, m: PeerMessage) =>
    transport.send(to, m).catch((e: unknown) => emit({ type: 'dropped', reason: 'send-failed', message: (e as Error).message }))
  const others = (ch: Channel) => ch.params.participants.filter((_, i) => i !== ch.myIndex)
  const digestOf = (ch: Channel, s: State) => hashState(ch.params.chainId, ch.params.adjudicator, s)

  const setLatest = async (ch: Channel, signed: SignedState, persist = true) => {
    if (persist) await store.putSignedState(signed.state.channelId, signed)
    ch.latest = signed
    emit({ type: 'committed', channelId: signed.state.channelId, state: signed.state, signatures: signed.signatures })
    for (const w of [...ch.waiters]) w()
  }

  /** Records the signature durably, then signs. Returns undefined if another digest is recorded. */
  const recordAndSign = async (ch: Channel, state: State, digest: Hex): Promise<Hex | undefined> => {
    const r = await store.recordSignature({ channelId: state.channelId, version: state.version, digest, state })
    if (!r.ok) return undefined
    options.afterRecordSignature?.(state.channelId, state.version)
    emit({ type: 'signed', channelId: state.channelId, version: state.version, digest })
    return signDigest(digest, options.privateKey)
  }

  /** Checks one signature per participant; `trusted` is this party's index when the signature at
   * that index is known to be its own (it equals the one it made), to spare one recovery. */
  const verifyAll = (ch: Channel, digest: Hex, sigs: readonly Hex[], trusted = -1): boolean =>
    sigs.length === ch.params.participants.length &&
    sigs.every((sig, i) => {
      if (i === trusted) return lower(sig) === lower(signDigest(digest, options.privateKey))
      const v = recoverDigestSigner(digest, sig)
      return v.ok && lower(v.signer) === lower(ch.params.participants[i] ?? '')
    })

  const envWithin = async (env: Env): Promise<boolean> => {
    const mine = await clock()
    const db = env.blockNumber > mine.blockNumber ? env.blockNumber - mine.blockNumber : mine.blockNumber - env.blockNumber
    const dt = env.timestamp > mine.timestamp ? env.timestamp - mine.timestamp : mine.timestamp - env.timestamp
    return db <= tolerance.blocks && dt <= tolerance.seconds
  }

  const refuse = (ch: Channel, to: Address, version: bigint, digest: Hex, reason: RefusalReason, message: string) => {
    count(reason)
    const channelId = getChannelIdOf(ch)
    emit({ type: 'refused', channelId, version, from: to, reason, message })
    const sig = signDigest(hashReject(ch.params, { channelId, version, stateHash: digest, reason, message }), options.privateKey)
    void send(to, { type: 'reject', channelId, from: address, version: version.toString(), digest, reason, message, sig })
  }
  const idCache = new WeakMap<ChannelParams, Hex>()
  const getChannelIdOf = (ch: Channel) => {
    let id = idCache.get(ch.params)
    if (id === undefined) idCache.set(ch.params, (id = getChannelId(ch.params)))
    return id
  }

  // ---- receiving ----------------------------------------------------------------------------

  const onPropose = async (ch: Channel, m: Extract<PeerMessage, { type: 'propose' }>) => {
    const state = wireToState(m.state)
    const digest = digestOf(ch, state)
    const moverAddr = ch.params.participants[m.mover]
    if (moverAddr === undefined || m.mover === ch.myIndex || lower(moverAddr) !== lower(m.from)) {
      count('bad-signature')
      return emit({ type: 'dropped', reason: 'bad-signature', message: `proposal from ${m.from} names mover ${m.mover}` })
    }
    const env = { blockNumber: BigInt(m.env.blockNumber), timestamp: BigInt(m.env.timestamp) }
    const proposalDigest = hashProposal(ch.params, {
      channelId: state.channelId, version: state.version, stateHash: digest, mover: BigInt(m.mover), action: m.action, ...env,
    })
    const v = recoverDigestSigner(proposalDigest, m.sig)
    if (!v.ok || lower(v.signer) !== lower(moverAddr)) {
      count('bad-signature')
      return emit({ type: 'dropped', reason: 'bad-signature', message: `proposal for version ${state.version} is not signed by ${moverAddr}` })
    }
    // A party that signed the base but missed its commit catches up from the base signatures.
    if (ch.latest !== undefined && state.version === ch.latest.state.version + 2n) {
      const rec = await store.getSignatureRecord(state.channelId, ch.latest.state.version + 1n)
      if (rec !== undefined && verifyAll(ch, rec.digest, m.baseSigs)) await setLatest(ch, { state: rec.state, signatures: m.baseSigs })
    }
    const base = baseOf(ch)
    if (base === undefined || state.version !== base.state.version + 1n) {
      const have = base?.state.version ?? -1n
      if (base !== undefined && state.version <= have) {
        // A duplicate of a proposal already signed: answer again with the same signature.
        const rec = await store.getSignatureRecord(state.channelId, state.version)
        if (rec !== undefined && lower(rec.digest) === lower(digest)) {
          return void send(m.from, { type: 'accept', channelId: state.channelId, from: address, version: state.version.toString(), digest, sig: signDigest(digest, options.privateKey) })
        }
        return refuse(ch, m.from, state.version, digest, 'stale', `version ${state.version} is not above the latest co-signed version ${have}`)
      }
      return refuse(ch, m.from, state.version, digest, 'version-gap', `version ${state.version} does not follow the latest co-signed version ${have}`)
    }
    if (base.state.isFinal) return refuse(ch, m.from, state.version, digest, 'final', 'the latest state is final')
    if (ch.pending !== undefined && ch.pending.state.version === state.version) {
      // Simultaneous proposals: the lower participant index wins, the other retries.
      if (ch.myIndex < m.mover) {
        return refuse(ch, m.from, state.version, digest, 'conflict', `participant ${ch.myIndex} proposed version ${state.version} too and has the lower index`)
      }
      const lost = ch.pending
      ch.pending = undefined
      lost.done('lost')
    }
    if (!(await envWithin(env))) {
      return refuse(ch, m.from, state.version, digest, 'env', `env (block ${env.blockNumber}, time ${env.timestamp}) is outside this party's tolerance`)
    }
    const r = await runTransition(sandbox, { params: ch.params, from: base.state, mover: BigInt(m.mover), action: m.action, env, appCode: ch.app.code, ...(ch.app.abi ? { appAbi: ch.app.abi } : {}) })
    if (!r.ok) return refuse(ch, m.from, state.version, digest, 'step-rejected', `${r.reason}: ${r.message}`)
    if (encodeState(r.state) !== encodeState(state)) {
      return refuse(ch, m.from, state.version, digest, 'state-mismatch', 're-running the step gives a different post-state')
    }
    if (options.approve !== undefined) {
      const verdict = await options.approve({ channelId: state.channelId, from: base.state, to: state, mover: m.mover, action: m.action, env })
      if (verdict !== true) return refuse(ch, m.from, state.version, digest, 'refused', verdict === false ? 'this party does not agree to the step' : verdict)
    }
    const sig = await recordAndSign(ch, state, digest)
    if (sig === undefined) {
      return refuse(ch, m.from, state.version, digest, 'conflicting-signature', `this party already signed a different state at version ${state.version}`)
    }
    await send(m.from, { type: 'accept', channelId: state.channelId, from: address, version: state.version.toString(), digest, sig })
  }

  const onAccept = (ch: Channel, m: Extract<PeerMessage, { type: 'accept' }>) => {
    const p = ch.pending
    if (p === undefined || p.state.version.toString() !== m.version || lower(p.digest) !== lower(m.digest)) return
    const idx = ch.params.participants.findIndex((a) => lower(a) === lower(m.from))
    const v = recoverDigestSigner(p.digest, m.sig)
    if (idx < 0 || idx === ch.myIndex || !v.ok || lower(v.signer) !== lower(m.from)) {
      count('bad-signature')
      return emit({ type: 'dropped', reason: 'bad-signature', message: `accept for version ${m.version} is not signed by ${m.from}` })
    }
    p.accepts.set(lower(m.from), m.sig)
    if (p.accepts.size === ch.params.participants.length - 1) p.done({ ok: true, signed: { state: p.state, signatures: [] }, gasUsed: 0n })
  }

  const onReject = (ch: Channel, m: Extract<PeerMessage, { type: 'reject' }>) => {
    const p = ch.pending
    if (p === undefined || p.state.version.toString() !== m.version || lower(p.digest) !== lower(m.digest)) return
    const d = hashReject(ch.params, { channelId: p.state.channelId, version: p.state.version, stateHash: p.digest, reason: m.reason, message: m.message })
    const v = recoverDigestSigner(d, m.sig)
    if (!v.ok || lower(v.signer) !== lower(m.from) || !ch.params.participants.some((a) => lower(a) === lower(m.from))) {
      count('bad-signature')
      return emit({ type: 'dropped', reason: 'bad-signature', message: `reject for version ${m.version} is not signed by ${m.from}` })
    }
    emit({ type: 'peer-refused', channelId: p.state.channelId, version: p.state.version, from: m.from, reason: m.reason, message: m.message })
    if (m.reason === 'conflict') return p.done('lost')
    p.done({ ok: false, reason: 'peer-rejected', from: m.from, peerReason: m.reason, message: m.message })
  }

  const onCommit = async (ch: Channel, m: Extract<PeerMessage, { type: 'commit' }>) => {
    const version = BigInt(m.version)
    if (ch.latest !== undefined && version <= ch.latest.state.version) return
    const rec = await store.getSignatureRecord(getChannelIdOf(ch), version)
    if (rec === undefined || lower(rec.digest) !== lower(m.digest)) return
    if (!verifyAll(ch, rec.digest, m.sigs, ch.myIndex)) {
      count('bad-signature')
      return emit({ type: 'dropped', reason: 'bad-signature', message: `commit for version ${version} carries invalid signatures` })
    }
    await setLatest(ch, { state: rec.state, signatures: m.sigs })
  }

  const onOpen = async (ch: Channel, m: Extract<PeerMessage, { type: 'open' }>) => {
    const o = ch.opening
    if (o === undefined) return
    const idx = ch.params.participants.findIndex((a) => lower(a) === lower(m.from))
    const v = recoverDigestSigner(o.digest, m.sig)
    if (idx < 0 || !v.ok || lower(v.signer) !== lower(m.from)) {
      count('bad-signature')
      return emit({ type: 'dropped', reason: 'bad-signature', message: `open from ${m.from} does not sign this party's initial state` })
    }
    o.sigs.set(lower(m.from), m.sig)
    if (o.sigs.size === ch.params.participants.length) {
      const sigs = ch.params.participants.map((a) => o.sigs.get(lower(a)) as Hex)
      const state = wireToState(m.state)
      ch.opening = undefined
      await setLatest(ch, { state, signatures: sigs })
      emit({ type: 'opened', channelId: state.channelId, state })
      o.done({ state, signatures: sigs })
    }
  }

  const dispatch = (m: PeerMessage) => {
    if (typeof m !== 'object' || m === null || typeof m.channelId !== 'string') {
      count('malformed')
      return
    }
    const ch = channels.get(lower(m.channelId))
    if (ch === undefined) {
      if (m.type === 'open' || m.type === 'propose') {
        const list = early.get(lower(m.channelId)) ?? []
        if (list.length < 16) list.push(m)
        early.set(lower(m.channelId), list)
        if (early.size > 1024) early.delete(early.keys().next().value as string)
      } else count('unknown-channel')
      return
    }
    const guard = (f: () => unknown) =>
      Promise.resolve()
        .then(f)
        .catch((e: unknown) => {
          count('malformed')
          emit({ type: 'dropped', reason: 'malformed', message: (e as Error).message })
        })
    // accepts and rejects answer this party's pending proposal: handle them at once.
    if (m.type === 'accept') return void guard(() => onAccept(ch, m))
    if (m.type === 'reject') return void guard(() => onReject(ch, m))
    if (m.type === 'propose') return void serial(ch, () => guard(() => onPropose(ch, m)))
    if (m.type === 'commit') return void serial(ch, () => guard(() => onCommit(ch, m)))
    if (m.type === 'open') return void serial(ch, () => guard(() => onOpen(ch, m)))
    count('malformed')
    emit({ type: 'dropped', reason: 'malformed', message: `unknown message type ${JSON.stringify((m as { type?: unknown }).type)}` })
  }
  const unsubscribe = transport.onMessage(dispatch)

  // ---- acting -------------------------------------------------------------------------------

  const getCh = (channelId: Hex) => {
    const ch = channels.get(lower(channelId))
    if (ch === undefined) throw new ChanvmError('CHANNEL_NOT_FOUND', 'this party does not hold the channel', { channelId })
    return ch
  }

  const open = async (params: ChannelParams, initial: State): Promise<SignedState> => {
    const channelId = getChannelId(params)
    const myIndex = params.participants.findIndex((a) => lower(a) === lower(address))
    if (myIndex < 0) throw new ChanvmError('NOT_PARTICIPANT', `${address} is not a participant`, { channelId })
    if (lower(initial.channelId) !== lower(channelId)) throw new ChanvmError('INVALID_ARGUMENT', 'initial state is for another channel', { channelId })
    if (initial.version !== 0n) throw new ChanvmError('INVALID_ARGUMENT', 'the initial state has version 0', { channelId })
    if (initial.balances.length !== params.participants.length) throw new ChanvmError('INVALID_ARGUMENT', 'one balance per participant', { channelId })
    const app = findApp(params)
    let ch = channels.get(lower(channelId))
    if (ch?.latest !== undefined) return ch.latest
    await store.putChannel({ channelId, params, myIndex })
    ch = { params, myIndex, app, latest: undefined, forced: undefined, pending: undefined, opening: undefined, queue: Promise.resolve(), waiters: new Set() }
    channels.set(lower(channelId), ch)
    const digest = digestOf(ch, initial)
    const c = ch
    const result = new Promise<SignedState>((resolve) => {
      c.opening = { digest, sigs: new Map(), done: resolve }
    })
    const sig = await recordAndSign(ch, initial, digest)
    if (sig === undefined) throw new ChanvmError('CONFLICTING_SIGNATURE', 'this party signed a different initial state', { channelId })
    const msg: PeerMessage = { type: 'open', channelId, from: address, params: paramsToWire(params), state: stateToWire(initial), sig }
    for (const to of others(ch)) void send(to, msg)
    void serial(ch, () => onOpen(c, msg))
    for (const m of early.get(lower(channelId)) ?? []) dispatch(m)
    early.delete(lower(channelId))
    return withTimeout(result, timeoutMs * 3, () => new ChanvmError('PEER_TIMEOUT', 'not every participant signed the initial state in time', { channelId }))
  }

  const proposeOnce = async (ch: Channel, action: Hex, envOpt: Env | undefined): Promise<UpdateResult | 'lost'> => {
    const prepared = await serial(ch, async () => {
      const base = baseOf(ch)
      if (base === undefined) throw new ChanvmError('CHANNEL_NOT_FOUND', 'the channel has no co-signed state yet', { channelId: getChannelIdOf(ch) })
      if (ch.pending !== undefined) throw new ChanvmError('INVALID_ARGUMENT', 'an update of this channel is already in flight', { channelId: getChannelIdOf(ch) })
      const env = envOpt ?? (await clock())
      const r = await runTransition(sandbox, { params: ch.params, from: base.state, mover: BigInt(ch.myIndex), action, env, appCode: ch.app.code, ...(ch.app.abi ? { appAbi: ch.app.abi } : {}) })
      if (!r.ok) return { result: { ok: false, reason: 'step-rejected', step: r } as UpdateResult | 'lost' }
      const digest = digestOf(ch, r.state)
      const own = await store.getSignatureRecord(r.state.channelId, r.state.version)
      if (own !== undefined && lower(own.digest) !== lower(digest)) {
        // This party already signed a peer's state at this version and waits for its commit: wait
        // for it and retry on top. It never signs a second state at one version.
        return { result: 'lost' as const }
      }
      let done!: (r: UpdateResult | 'lost') => void
      const outcome = new Promise<UpdateResult | 'lost'>((res) => (done = res))
      ch.pending = { state: r.state, digest, accepts: new Map(), done }
      const sig = signDigest(
        hashProposal(ch.params, { channelId: r.state.channelId, version: r.state.version, stateHash: digest, mover: BigInt(ch.myIndex), action, ...env }),
        options.privateKey,
      )
      const msg: PeerMessage = {
        type: 'propose',
        channelId: r.state.channelId,
        from: address,
        state: stateToWire(r.state),
        mover: ch.myIndex,
        action,
        env: { blockNumber: env.blockNumber.toString(), timestamp: env.timestamp.toString() },
        baseSigs: [...base.signatures],
        sig,
      }
      emit({ type: 'proposed', channelId: r.state.channelId, version: r.state.version, mover: ch.myIndex })
      for (const to of others(ch)) void send(to, msg)
      return { outcome, pending: ch.pending, gasUsed: r.gasUsed }
    })
    if ('result' in prepared) return prepared.result
    const { pending } = prepared
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      prepared.outcome,
      new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs))),
    ])
    clearTimeout(timer)
    return serial(ch, async () => {
      if (ch.pending === pending) ch.pending = undefined
      if (outcome === 'timeout') {
        const missing = others(ch).filter((a) => !pending.accepts.has(lower(a)))
        return { ok: false, reason: 'peer-timeout', missing } as UpdateResult
      }
      if (outcome === 'lost' || !outcome.ok) return outcome
      // Every other participant signed: the mover signs last, records its signature together with
      // the co-signed state (one disk sync), and only then lets the signature leave in the commit.
      const mySig = signDigest(pending.digest, options.privateKey)
      const sigs = ch.params.participants.map((a, i) => (i === ch.myIndex ? mySig : (pending.accepts.get(lower(a)) as Hex)))
      const signed = { state: pending.state, signatures: sigs }
      const rec = await store.recordSignatureAndState({ channelId: pending.state.channelId, version: pending.state.version, digest: pending.digest, state: pending.state }, signed)
      if (!rec.ok) return { ok: false, reason: 'conflict', message: `this party already signed a different state at version ${pending.state.version}` } as UpdateResult
      options.afterRecordSignature?.(pending.state.channelId, pending.state.version)
      emit({ type: 'signed', channelId: pending.state.channelId, version: pending.state.version, digest: pending.digest })
      await setLatest(ch, signed, false)
      const commit: PeerMessage = { type: 'commit', channelId: pending.state.channelId, from: address, version: pending.state.version.toString(), digest: pending.digest, sigs }
      for (const to of others(ch)) void send(to, commit)
      return { ok: true, signed, gasUsed: prepared.gasUsed } as UpdateResult
    })
  }

  const update = async (channelId: Hex, action: Hex, opts: { env?: Env } = {}): Promise<UpdateResult> => {
    const ch = getCh(channelId)
    for (let attempt = 0; ; attempt++) {
      const before = baseOf(ch)?.state.version ?? -1n
      const r = await proposeOnce(ch, action, opts.env)
      if (r !== 'lost') return r
      if (attempt >= maxRetries) {
        return { ok: false, reason: 'conflict', message: `no co-signed version after ${attempt + 1} tries: a peer's proposal at the same version won, or this party signed a peer's state whose commit never came` }
      }
      // Wait for the winner's state, then try again on top of it.
      await waitForVersion(channelId, before + 1n, timeoutMs).catch(() => undefined)
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
        reject(new ChanvmError('PEER_TIMEOUT', `version ${version} was not co-signed within ${ms} ms`, { channelId }))
      }, ms)
      ch.waiters.add(check)
      check()
    })
  }

  const adoptForcedState: Party['adoptForcedState'] = async (f) => {
    const ch = getCh(f.channelId)
    return serial(ch, async () => {
      const have = baseOf(ch)?.state.version ?? -1n
      if (f.state.version <= have) return { ok: false, reason: 'stale', message: `this party holds version ${have} already` } as const
      if (f.base === undefined) return { ok: false, reason: 'no-base', message: 'the base of the forced step is unknown' } as const
      const r = await runTransition(sandbox, { params: ch.params, from: f.base, mover: f.mover, action: f.action, env: f.env, appCode: ch.app.code, ...(ch.app.abi ? { appAbi: ch.app.abi } : {}) })
      if (!r.ok || encodeState(r.state) !== encodeState(f.state)) {
        return { ok: false, reason: 'mismatch', message: r.ok ? 're-running the forced step gives a different state' : `re-running the forced step fails: ${r.message}` } as const
      }
      await store.putForcedState(f.channelId, f.state)
      ch.forced = f.state
      emit({ type: 'adopted', channelId: f.channelId, state: f.state })
      return { ok: true } as const
    })
  }

  return {
    address,
    open,
    update,
    waitForVersion,
    adoptForcedState,
    base: async (channelId) => baseOf(getCh(channelId))?.state,
    latest: async (channelId) => getCh(channelId).latest,
    stats: () => ({ ...counters }),
    async close() {
      unsubscribe()
      for (const ch of channels.values()) ch.pending?.done({ ok: false, reason: 'peer-timeout', missing: [] })
    },
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, err: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(err()), ms)))]).finally(() => clearTimeout(timer))
}
