// The dispute logic of a node: read the Adjudicator's record and this party's states, pick the
// next step that rescues a stuck channel (register, refute, force a move, conclude, withdraw),
// price it, and send it only when its fee does not exceed what it changes in our payout.
import { bytesToHex, keccak256, type Abi, type Address, type Block, type Hex } from 'viem'
import { Adjudicator } from '../contracts/generated/Adjudicator.ts'
import { conclude } from '../engine/adjudicator/conclude.ts'
import { concludeFinal } from '../engine/adjudicator/concludeFinal.ts'
import type { AdjudicatorClient } from '../engine/adjudicator/createAdjudicatorClient.ts'
import { estimateForceProgressGas } from '../engine/adjudicator/estimateForceProgressGas.ts'
import { forceProgress, type ForceProgressArgs } from '../engine/adjudicator/forceProgress.ts'
import { getChannelRecord, type ChannelRecord } from '../engine/adjudicator/getChannelRecord.ts'
import { getDeposits } from '../engine/adjudicator/getDeposits.ts'
import { getWithdrawable } from '../engine/adjudicator/getWithdrawable.ts'
import { hashMove } from '../engine/adjudicator/hashMove.ts'
import { outranksHeld } from '../engine/adjudicator/outranksHeld.ts'
import { register } from '../engine/adjudicator/register.ts'
import type { TxResult } from '../engine/adjudicator/submitAdjudicatorTx.ts'
import { toAdjudicatorError } from '../engine/adjudicator/toAdjudicatorError.ts'
import { withdraw } from '../engine/adjudicator/withdraw.ts'
import { getChannelId } from '../engine/channel/getChannelId.ts'
import { hashStateStruct } from '../engine/channel/hashState.ts'
import type { ChannelParams, SignedState, State } from '../engine/channel/types.ts'
import type { Signer } from '../engine/crypto/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { Party } from '../engine/protocol/types.ts'
import { createSandbox, type Sandbox } from '../engine/sandbox/createSandbox.ts'
import { runTransition } from '../engine/sandbox/runTransition.ts'
import type { ChannelStore } from '../engine/store/types.ts'
import { payoutOf } from './payout.ts'
import type { DisputePlan } from './types.ts'

/** What the dispute functions read and send through. */
export type DisputeDeps = {
  /** The Adjudicator client; with a key, the key of participant `me` (it sends and withdraws). */
  client: AdjudicatorClient
  store: ChannelStore
  params: ChannelParams
  /** This node's participant index. */
  me: number
  /** When given, our latest co-signed state is the party's (else the store's). */
  party?: Party
  /** Signs forced moves; without it a pending action is never forced. */
  signer?: Signer
  /** The sandbox that runs a move before it is forced. Default: one created when needed. */
  sandbox?: Sandbox
  /** The app's runtime code. Default: read from the chain and checked against `params.appCodeHash`. */
  appCode?: Hex
  /** The app's ABI, to decode its errors. */
  appAbi?: Abi
  /** First block to read Adjudicator logs from. Default: the dispute's first block (found by time); 0 for `Concluded`. */
  fromBlock?: bigint
}

export type PlanDisputeOptions = {
  /**
   * The encoded action of this party's step the peer did not sign, to force on chain. Default:
   * the proposal kept in the signature record at the next version, when this party is its mover.
   */
  pendingAction?: Hex
}

/** What {@link takeDisputeStep} and {@link waitOutChallenge} report while they work. */
export type DisputeProgress =
  | { type: 'sending'; channelId: Hex; step: string; feeWei: bigint }
  | { type: 'mined'; channelId: Hex; step: string; result: TxResult }
  | {
      type: 'waiting'
      channelId: Hex
      now: bigint
      finalizesAt: bigint
      remainingSeconds: bigint
      /** Estimated from the recent block time. */
      remainingBlocks: bigint
    }

type Prepared = { plan: DisputePlan; send?: () => Promise<TxResult> }
type Forcing = { ok: true; args: ForceProgressArgs; state: State } | { ok: false; reason: string | undefined }

const lower = (a: string): string => a.toLowerCase()
const hashOf = (s: State): Hex => bytesToHex(hashStateStruct(s))
const copyState = (s: State): State => ({ ...s, balances: [...s.balances] })

/**
 * The next dispute step for a channel, priced and judged, without sending anything. Nothing held
 * on chain: `register` our latest co-signed state (`conclude-final` when it is final; `force` with
 * it as base when a pending action of ours runs). The chain holds a state our latest co-signed one
 * outranks: `register` it (refute), or `conclude-final`. The chain holds a state we can step on and
 * the app accepts our pending action: `force`. From `finalizesAt` on: `conclude`. Concluded with
 * a credit: `withdraw`. Otherwise `wait` until `finalizesAt`, with the reason. `payouts` are what
 * each participant gets if the channel concludes on the state held after the step (the contract's
 * rule, {@link payoutOf}); `worthIt` is true for a transaction whose fee (gas estimate × gas price)
 * does not exceed what it changes in our payout compared with doing nothing.
 *
 * @example
 * ```ts
 * const plan = await planDispute({ client, store, params, me: 1, signer }, channelId)
 * if (plan.next.step !== 'wait' && plan.next.step !== 'none') console.log(plan.next.step, plan.next.feeWei, plan.worthIt)
 * ```
 */
export async function planDispute(
  deps: DisputeDeps,
  channelId: Hex,
  options: PlanDisputeOptions = {},
): Promise<DisputePlan> {
  return (await prepare(deps, channelId, options)).plan
}

/**
 * Recomputes the plan and takes its step on chain. Refuses a step that is not worth it with a
 * `NOT_WORTH_IT` error (nothing sent) unless `force`; a `wait` or `none` plan sends nothing.
 * Returns the plan after the step.
 *
 * @example
 * ```ts
 * const after = await takeDisputeStep(deps, channelId, { onProgress: (p) => console.log(p.type) })
 * ```
 */
export async function takeDisputeStep(
  deps: DisputeDeps,
  channelId: Hex,
  options: PlanDisputeOptions & { force?: boolean; onProgress?: (p: DisputeProgress) => void } = {},
): Promise<DisputePlan> {
  const { plan, send } = await prepare(deps, channelId, options)
  const next = plan.next
  if (send === undefined || next.step === 'wait' || next.step === 'none') return plan
  if (!plan.worthIt && options.force !== true)
    throw new ChanvmError('NOT_WORTH_IT', `${next.step} is not worth its fee`, {
      channelId,
      details: [
        `fee: ${next.feeWei} wei (${next.gas} gas)`,
        `change in our payout: ${next.gainWei ?? 0n} wei`,
        'take it anyway with force',
      ],
    })
  options.onProgress?.({ type: 'sending', channelId, step: next.step, feeWei: next.feeWei })
  const result = await send()
  options.onProgress?.({ type: 'mined', channelId, step: next.step, result })
  return planDispute(deps, channelId)
}

/**
 * Polls until the channel's dispute can be concluded (the head block's time reached
 * `finalizesAt`, which forced steps may move) or no dispute runs, reporting the time and blocks
 * left at each poll. Returns the record read last.
 *
 * @example
 * ```ts
 * await waitOutChallenge(deps, channelId, (p) => p.type === 'waiting' && console.log(`${p.remainingSeconds}s left`))
 * ```
 */
export async function waitOutChallenge(
  deps: DisputeDeps,
  channelId: Hex,
  onProgress: (p: DisputeProgress) => void,
  options: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<ChannelRecord> {
  const pollMs = options.pollMs ?? 1_000
  let blockTime: bigint | undefined
  for (;;) {
    const head = await latestBlock(deps.client, channelId)
    const rec = await getChannelRecord(deps.client, channelId, { blockNumber: head.number })
    if (rec.status !== 'disputed' || head.timestamp >= rec.finalizesAt || options.signal?.aborted === true)
      return rec
    blockTime ??= await recentBlockTime(deps.client, head, channelId)
    const remainingSeconds = rec.finalizesAt - head.timestamp
    onProgress({
      type: 'waiting',
      channelId,
      now: head.timestamp,
      finalizesAt: rec.finalizesAt,
      remainingSeconds,
      remainingBlocks: (remainingSeconds + blockTime - 1n) / blockTime,
    })
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs)
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t)
          resolve()
        },
        { once: true },
      )
    })
  }
}

type TxStep = 'register' | 'force' | 'conclude' | 'conclude-final' | 'withdraw'

/** A transaction the plan may take: how to price and send it, and what it pays. */
type Candidate = {
  step: TxStep
  /** What each participant is paid on the state held after the step, and if we do nothing. */
  payouts: bigint[]
  idle: bigint[]
  /** Set when the gain is not read from the payouts (withdraw: the credit). */
  gainWei?: bigint
  version?: bigint
  action?: Hex
  estimate: () => Promise<bigint>
  send: () => Promise<TxResult>
}
type NoTx = { next: Extract<DisputePlan['next'], { step: 'wait' | 'none' }>; payouts: bigint[] }

/** What the plan is made from: the chain at one block and this party's states. */
type View = {
  me: number
  myAddress: Address
  /** The sender of estimates: the client's account, or participant `me`. */
  account: Address
  head: Block<bigint, false, 'latest'>
  rec: ChannelRecord
  deposits: bigint[]
  gasPrice: bigint
  latest: SignedState
  /** The newest forced state this party stored (adopted or not), and the one newer than `latest`. */
  forced: State | undefined
  adopted: State | undefined
}

async function readView(deps: DisputeDeps, channelId: Hex): Promise<View> {
  const { client, params, me, store } = deps
  const participants = params.participants
  if (lower(getChannelId(params)) !== lower(channelId))
    throw new ChanvmError('INVALID_ARGUMENT', 'the params are not those of this channel', { channelId })
  const myAddress = participants[me]
  if (!Number.isInteger(me) || myAddress === undefined)
    throw new ChanvmError('INVALID_ARGUMENT', `participant index ${me} is not in the channel`, { channelId })
  for (const [what, a] of [
    ['the client sends from', client.account],
    ['the signer is', deps.signer?.address],
  ] as const)
    if (a !== undefined && lower(a) !== lower(myAddress))
      throw new ChanvmError('CONFIG', `${what} ${a}, participant ${me} is ${myAddress}`, { channelId })
  const head = await latestBlock(client, channelId)
  const at = { blockNumber: head.number }
  const [rec, deposits, gasPrice, latest, forced] = await Promise.all([
    getChannelRecord(client, channelId, at),
    getDeposits(client, channelId, participants, at),
    chainRead(channelId, 'getGasPrice', () => client.publicClient.getGasPrice()),
    deps.party !== undefined ? deps.party.latest(channelId) : store.getLatestSignedState(channelId),
    store.getLatestForcedState(channelId),
  ])
  if (latest === undefined)
    throw new ChanvmError('CHANNEL_NOT_FOUND', 'no co-signed state of this channel is stored', { channelId })
  const adopted = forced !== undefined && forced.version > latest.state.version ? forced : undefined
  const account = client.account ?? myAddress
  return { me, myAddress, account, head, rec, deposits, gasPrice, latest, forced, adopted }
}

async function prepare(deps: DisputeDeps, channelId: Hex, options: PlanDisputeOptions): Promise<Prepared> {
  const v = await readView(deps, channelId)
  const ours = v.adopted ?? v.latest.state
  const plan0 = {
    channelId,
    me: v.me,
    ours: {
      version: ours.version,
      balances: [...ours.balances],
      isFinal: ours.isFinal,
      ...(v.adopted === undefined ? {} : { forced: true }),
    },
    now: v.head.timestamp,
  }
  const { choice, held } = await chooseStep(deps, channelId, v, options)
  const withHeld = held === undefined ? {} : { held }
  if (!('step' in choice)) {
    const { next, payouts } = choice
    return { plan: { ...plan0, ...withHeld, next, payouts, payoutsIfIdle: payouts, worthIt: false } }
  }
  const gas = await choice.estimate()
  const feeWei = gas * v.gasPrice
  const gainWei = choice.gainWei ?? (choice.payouts[v.me] ?? 0n) - (choice.idle[v.me] ?? 0n)
  const next = {
    step: choice.step,
    gas,
    feeWei,
    gainWei,
    ...(choice.version === undefined ? {} : { version: choice.version }),
    ...(choice.action === undefined ? {} : { action: choice.action }),
  }
  return {
    plan: {
      ...plan0,
      ...withHeld,
      next,
      payouts: choice.payouts,
      payoutsIfIdle: choice.idle,
      worthIt: feeWei <= gainWei,
    },
    send: choice.send,
  }
}

/** The rules of the plan (see {@link planDispute}): the step to take, or why there is none. */
async function chooseStep(
  deps: DisputeDeps,
  channelId: Hex,
  v: View,
  options: PlanDisputeOptions,
): Promise<{ choice: Candidate | NoTx; held?: DisputePlan['held'] }> {
  const { client, params, store } = deps
  const { rec, latest, head } = v
  const now = head.timestamp
  const tx = calls(deps, channelId, v.account)
  const zeros = params.participants.map(() => 0n)
  const pay = (s: Pick<State, 'balances' | 'version'>): bigint[] =>
    payoutOf({
      participants: params.participants,
      balances: s.balances,
      version: s.version,
      deposits: v.deposits,
    })
  const force = async (from: State, idle: bigint[], fromSignatures?: readonly Hex[]) => {
    const f = await prepareForce(deps, channelId, v, options, from, fromSignatures)
    if (!f.ok) return f
    const c: Candidate = {
      step: 'force',
      payouts: pay(f.state),
      idle,
      version: f.state.version,
      action: f.args.action,
      ...tx.force(f.args),
    }
    return { ok: true as const, c }
  }
  /** Our latest co-signed state on chain: paid out at once when final, else registered (with our move when one runs). */
  const putLatest = async (idle: bigint[], movesOpen: boolean): Promise<Candidate> => {
    const base = { payouts: pay(latest.state), idle, version: latest.state.version }
    if (latest.state.isFinal) return { step: 'conclude-final', ...base, ...tx.concludeFinal(latest) }
    if (movesOpen) {
      const f = await force(latest.state, idle, latest.signatures)
      if (f.ok) return f.c
    }
    return { step: 'register', ...base, ...tx.register(latest) }
  }

  if (rec.status === 'concluded') {
    const held = { version: rec.version, baseVersion: rec.baseVersion, status: rec.status, finalizesAt: 0n }
    const [credit, paid] = await Promise.all([
      getWithdrawable(client, v.myAddress),
      concludedPayouts(deps, channelId, head.number),
    ])
    if (credit === 0n)
      return {
        choice: { next: { step: 'none', reason: 'concluded; nothing to withdraw' }, payouts: paid },
        held,
      }
    return {
      choice: { step: 'withdraw', payouts: paid, idle: paid, gainWei: credit, ...tx.withdraw() },
      held,
    }
  }
  if (rec.status === 'open') return { choice: await putLatest(zeros, true) }

  // A dispute runs: find the state held in full (the chain keeps its hash).
  const heldState = await findHeldState(deps, channelId, rec, head, [
    latest.state,
    v.forced,
    (await store.getSignedState(channelId, rec.version))?.state,
    (await store.getSignatureRecord(channelId, rec.version))?.state,
  ])
  const held: NonNullable<DisputePlan['held']> = {
    version: rec.version,
    baseVersion: rec.baseVersion,
    ...(heldState === undefined ? {} : { balances: [...heldState.balances] }),
    status: rec.status,
    finalizesAt: rec.finalizesAt,
    movesUntil: rec.movesUntil,
    forced: rec.forced,
    holdings: rec.holdings,
  }
  const asHeld = heldState === undefined ? undefined : pay(heldState)
  // The step lands in a later block than the head: its time is at least now + 1.
  const registerOpen = now + 1n < rec.finalizesAt
  const movesOpen = now + 1n < rec.movesUntil

  if (registerOpen && outranksHeld(rec, latest.state.version))
    return { choice: await putLatest(asHeld ?? zeros, movesOpen), held }
  if (now >= rec.finalizesAt) {
    if (heldState === undefined) {
      const reason = `the state held (v${rec.version}) is not known to this node`
      return { choice: { next: { step: 'none', reason }, payouts: [] }, held }
    }
    const c: Candidate = {
      step: 'conclude',
      payouts: pay(heldState),
      idle: zeros,
      version: rec.version,
      ...tx.conclude(heldState),
    }
    return { choice: c, held }
  }
  let why: string | undefined
  if (movesOpen && heldState !== undefined) {
    const f = await force(heldState, asHeld ?? zeros)
    if (f.ok) return { choice: f.c, held }
    why = f.reason
  } else if (options.pendingAction !== undefined) {
    why = heldState === undefined ? 'the state held is not known to this node' : 'forced moves are closed'
  }
  const ours = v.adopted ?? latest.state
  const mine = heldState !== undefined && heldState.version >= ours.version
  const reason = [
    mine
      ? `the chain holds our state v${rec.version}; it pays out from ${rec.finalizesAt}`
      : `the chain holds v${rec.version} (base v${rec.baseVersion}), which our v${latest.state.version} does not outrank`,
    ...(why === undefined ? [] : [why]),
  ].join('; ')
  return { choice: { next: { step: 'wait', until: rec.finalizesAt, reason }, payouts: asHeld ?? [] }, held }
}

/** The Adjudicator calls of the plan, each with its gas estimate (a revert is thrown decoded). */
function calls(deps: DisputeDeps, channelId: Hex, account: Address) {
  const { client, params } = deps
  const base = { address: client.address, abi: Adjudicator.abi, account } as const
  const estimate = async (fn: string, run: () => Promise<bigint>): Promise<bigint> => {
    try {
      return await run()
    } catch (e) {
      throw toAdjudicatorError(e, { action: `estimate ${fn}`, channelId })
    }
  }
  return {
    register: (signed: SignedState) => ({
      estimate: () =>
        estimate('register', () =>
          client.publicClient.estimateContractGas({
            ...base,
            functionName: 'register',
            args: [params, signed.state, [...signed.signatures]],
          }),
        ),
      send: () => register(client, { params, signed }),
    }),
    concludeFinal: (signed: SignedState) => ({
      estimate: () =>
        estimate('concludeFinal', () =>
          client.publicClient.estimateContractGas({
            ...base,
            functionName: 'concludeFinal',
            args: [params, signed.state, [...signed.signatures]],
          }),
        ),
      send: () => concludeFinal(client, { params, signed }),
    }),
    conclude: (state: State) => ({
      estimate: () =>
        estimate('conclude', () =>
          client.publicClient.estimateContractGas({
            ...base,
            functionName: 'conclude',
            args: [params, state],
          }),
        ),
      send: () => conclude(client, { params, state }),
    }),
    withdraw: () => ({
      estimate: () =>
        estimate('withdraw', () =>
          client.publicClient.estimateContractGas({ ...base, functionName: 'withdraw', args: [account] }),
        ),
      send: () => withdraw(client),
    }),
    force: (args: ForceProgressArgs) => ({
      estimate: () => estimateForceProgressGas(client, args),
      send: () => forceProgress(client, args),
    }),
  }
}

/**
 * Our pending action on `from` (given, or kept in the store as our proposal at the next version),
 * run in the sandbox with the next block's Env and signed, ready for forceProgress.
 */
async function prepareForce(
  deps: DisputeDeps,
  channelId: Hex,
  v: View,
  options: PlanDisputeOptions,
  from: State,
  fromSignatures?: readonly Hex[],
): Promise<Forcing> {
  const { params, store, me } = deps
  let action = options.pendingAction
  if (action === undefined) {
    const kept = await store.getSignatureRecord(channelId, from.version + 1n)
    if (kept?.proposal?.mover === me) action = kept.proposal.action
  }
  if (action === undefined) return { ok: false, reason: undefined }
  if (deps.signer === undefined) return { ok: false, reason: 'no signer to force our pending action' }
  const sandbox = deps.sandbox ?? (await createSandbox())
  const r = await runTransition(sandbox, {
    params,
    from,
    mover: BigInt(me),
    action,
    env: { blockNumber: v.head.number + 1n, timestamp: v.head.timestamp + 1n },
    appCode: deps.appCode ?? (await appCodeOf(deps.client, params, channelId)),
    ...(deps.appAbi === undefined ? {} : { appAbi: deps.appAbi }),
  })
  if (!r.ok) return { ok: false, reason: `the app refuses our pending action: ${r.message}` }
  const moverSignature = await deps.signer.signDigest(hashMove(params, from, BigInt(me), action))
  const args: ForceProgressArgs = {
    params,
    from,
    mover: BigInt(me),
    action,
    moverSignature,
    ...(fromSignatures === undefined ? {} : { fromSignatures }),
    ...(deps.appAbi === undefined ? {} : { appAbi: deps.appAbi }),
  }
  return { ok: true, args, state: r.state }
}

async function chainRead<T>(channelId: Hex, action: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (e) {
    throw toAdjudicatorError(e, { action, channelId })
  }
}

function latestBlock(client: AdjudicatorClient, channelId: Hex): Promise<Block<bigint, false, 'latest'>> {
  return chainRead(channelId, 'getBlock', () => client.publicClient.getBlock({ blockTag: 'latest' }))
}

/** Average seconds per block over the last (up to) 100 blocks, at least 1. */
async function recentBlockTime(
  client: AdjudicatorClient,
  head: Block<bigint, false, 'latest'>,
  channelId: Hex,
): Promise<bigint> {
  const span = head.number < 100n ? head.number : 100n
  if (span === 0n) return 1n
  const old = await chainRead(channelId, 'getBlock', () =>
    client.publicClient.getBlock({ blockNumber: head.number - span }),
  )
  const t = (head.timestamp - old.timestamp) / span
  return t < 1n ? 1n : t
}

/** The app's runtime code on chain, which must hash to `params.appCodeHash`. */
async function appCodeOf(client: AdjudicatorClient, params: ChannelParams, channelId: Hex): Promise<Hex> {
  const code = await chainRead(channelId, 'getCode', () =>
    client.publicClient.getCode({ address: params.app }),
  )
  if (code === undefined || lower(keccak256(code)) !== lower(params.appCodeHash))
    throw new ChanvmError('APP_CODE_MISMATCH', `the code at ${params.app} is not the channel's app`, {
      channelId,
    })
  return code
}

/** The first block whose timestamp is at least `t` (binary search over the chain's blocks). */
async function firstBlockAt(
  client: AdjudicatorClient,
  t: bigint,
  head: Block<bigint, false, 'latest'>,
  channelId: Hex,
): Promise<bigint> {
  let lo = 0n
  let hi = head.number
  while (lo < hi) {
    const mid = (lo + hi) / 2n
    const b = await chainRead(channelId, 'getBlock', () => client.publicClient.getBlock({ blockNumber: mid }))
    if (b.timestamp < t) lo = mid + 1n
    else hi = mid
  }
  return lo
}

/**
 * The state held in full: one of `known` whose struct hash the chain holds, else the newest
 * `Registered` or `Progressed` state of the dispute with that hash (the chain keeps only the hash).
 */
async function findHeldState(
  deps: DisputeDeps,
  channelId: Hex,
  rec: ChannelRecord,
  head: Block<bigint, false, 'latest'>,
  known: readonly (State | undefined)[],
): Promise<State | undefined> {
  const want = lower(rec.stateHash)
  for (const s of known) if (s !== undefined && lower(hashOf(s)) === want) return copyState(s)
  const { client, params } = deps
  const fromBlock =
    deps.fromBlock ?? (await firstBlockAt(client, rec.movesUntil - params.challengeDuration, head, channelId))
  const range = {
    address: client.address,
    abi: Adjudicator.abi,
    args: { channelId },
    fromBlock,
    toBlock: head.number,
  }
  const [registered, progressed] = await chainRead(channelId, 'getLogs', () =>
    Promise.all([
      client.publicClient.getContractEvents({ ...range, eventName: 'Registered' }),
      client.publicClient.getContractEvents({ ...range, eventName: 'Progressed' }),
    ]),
  )
  const states: State[] = []
  for (const l of [...registered, ...progressed]) {
    const s = l.args.state
    if (s !== undefined) states.push({ ...s, balances: [...s.balances] })
  }
  return states.find((s) => lower(hashOf(s)) === want)
}

/** The payouts of the channel's `Concluded` event, or none when it cannot be read. */
async function concludedPayouts(deps: DisputeDeps, channelId: Hex, toBlock: bigint): Promise<bigint[]> {
  try {
    const logs = await deps.client.publicClient.getContractEvents({
      address: deps.client.address,
      abi: Adjudicator.abi,
      eventName: 'Concluded',
      args: { channelId },
      fromBlock: deps.fromBlock ?? 0n,
      toBlock,
    })
    return [...(logs.at(-1)?.args.payouts ?? [])]
  } catch {
    return []
  }
}
