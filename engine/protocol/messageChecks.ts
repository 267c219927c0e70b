import type { Address, Hex } from 'viem'
import { hashState } from '../channel/hashState.ts'
import { stateToWire, wireToState } from '../channel/wire.ts'
import type { Env, SignedState, State } from '../channel/types.ts'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'
import type { CryptoPool } from '../crypto/createCryptoPool.ts'
import { recoverDigestSigner, type SignatureVerdict } from '../crypto/recoverDigestSigner.ts'
import { takeRecovered } from '../crypto/recoveryMemo.ts'
import type { SignatureRecord } from '../store/types.ts'
import type { PeerMessage, WireState } from '../transport/types.ts'
import { lower, type ChannelMachine, type Msg } from './machine.ts'
import { hashProposal } from './messageDigests.ts'

// Pure reading and checking of messages: digests, signature recovery, wire forms. No I/O.

export const envToWire = (env: Env) => ({
  blockNumber: env.blockNumber.toString(),
  timestamp: env.timestamp.toString(),
})
export const wireToEnv = (w: { blockNumber: string; timestamp: string }): Env => ({
  blockNumber: BigInt(w.blockNumber),
  timestamp: BigInt(w.timestamp),
})

/** Whether a proposal's env is within `tolerance` of this party's own view of the chain (`mine`). */
export const isEnvWithin = (env: Env, mine: Env, tolerance: { blocks: bigint; seconds: bigint }): boolean => {
  const db =
    env.blockNumber > mine.blockNumber
      ? env.blockNumber - mine.blockNumber
      : mine.blockNumber - env.blockNumber
  const dt = env.timestamp > mine.timestamp ? env.timestamp - mine.timestamp : mine.timestamp - env.timestamp
  return db <= tolerance.blocks && dt <= tolerance.seconds
}

/**
 * Whether `b` still holds every field `a` held (the same values, compared with `===`): a memo
 * below is used only then, so a state or wire state changed after it was read is read again.
 */
const sameState = <
  T extends {
    channelId: unknown
    version: unknown
    appData: unknown
    isFinal: unknown
    balances: readonly unknown[]
  },
>(
  a: T,
  b: T,
): boolean =>
  a.channelId === b.channelId &&
  a.version === b.version &&
  a.appData === b.appData &&
  a.isFinal === b.isFinal &&
  Array.isArray(b.balances) &&
  a.balances.length === b.balances.length &&
  a.balances.every((x, i) => x === b.balances[i])

/** A copy of a state's fields (its balances array copied) to compare a memo's source against. */
const snapshot = <T extends { balances: readonly unknown[] }>(s: T): T => ({
  ...s,
  balances: [...s.balances],
})

/** Wire states read by {@link stateOf}, by the object they were read from. */
const readStates = new WeakMap<WireState, { from: WireState; state: State }>()

/**
 * The state a message carries ({@link wireToState}), read once per message: a handler runs again
 * after each fact it asked for and reads the same message again. A wire state whose fields
 * changed since is read again. Throws `INVALID_ARGUMENT` on a malformed one.
 */
export const stateOf = (w: WireState): State => {
  const hit = typeof w === 'object' && w !== null ? readStates.get(w) : undefined
  if (hit !== undefined && sameState(hit.from, w)) return hit.state
  const state = wireToState(w)
  readStates.set(w, { from: snapshot(w), state })
  return state
}

/** Recent state digests by the full content they were taken of (see {@link digestOf}). */
const recentDigests = new Map<string, Hex>()
const RECENT_DIGESTS = 1024

/** Digests by the state object they were taken of, with what they depend on (see {@link digestOf}). */
const stateDigests = new WeakMap<
  State,
  { chainId: bigint; adjudicator: string; myIndex: number; from: State; digest: Hex }
>()

/**
 * The EIP-712 digest of a state of the channel. A handler runs again after each fact it asked
 * for and reads the state from the message again, so a step takes the digest of the same content
 * several times: a digest is kept by the state object it was taken of (used while the object
 * holds the same fields, for the same chain and Adjudicator), and recent digests by every field
 * they depend on (chain, Adjudicator and the whole state); content not seen recently is hashed.
 * They are kept per participant index, so two parties in one process (tests, benches) each hash a
 * state as they would apart.
 */
export const digestOf = (ch: ChannelMachine, s: State): Hex => {
  const plain =
    typeof ch.params.chainId === 'bigint' &&
    typeof ch.params.adjudicator === 'string' &&
    typeof s.channelId === 'string' &&
    typeof s.version === 'bigint' &&
    Array.isArray(s.balances) &&
    s.balances.every((b) => typeof b === 'bigint') &&
    typeof s.appData === 'string' &&
    typeof s.isFinal === 'boolean'
  if (!plain) return hashState(ch.params.chainId, ch.params.adjudicator, s)
  const { chainId, adjudicator } = ch.params
  const kept = stateDigests.get(s)
  if (
    kept !== undefined &&
    kept.chainId === chainId &&
    kept.adjudicator === adjudicator &&
    kept.myIndex === ch.myIndex &&
    sameState(kept.from, s)
  )
    return kept.digest
  const key = `${ch.myIndex}|${chainId}|${lower(adjudicator)}|${lower(s.channelId)}|${s.version}|${s.balances.join(',')}|${lower(s.appData)}|${s.isFinal}`
  let digest = recentDigests.get(key)
  if (digest === undefined) {
    digest = hashState(chainId, adjudicator, s)
    if (recentDigests.size >= RECENT_DIGESTS) recentDigests.clear()
    recentDigests.set(key, digest)
  }
  stateDigests.set(s, { chainId, adjudicator, myIndex: ch.myIndex, from: snapshot(s), digest })
  return digest
}

/** Whether a recovery's verdict names `who`. */
const names = (v: SignatureVerdict, who: string): boolean => v.ok && lower(v.signer) === lower(who)

/** Whether `sig` over `digest` recovers to `who` (a verdict prefetched on a crypto pool first). */
export const recovers = (digest: Hex, sig: unknown, who: string | undefined): boolean =>
  typeof sig === 'string' &&
  who !== undefined &&
  names(takeRecovered(digest, sig) ?? recoverDigestSigner(digest, sig as Hex), who)

/** {@link recovers}, the recovery made by `pool` (on its thread when it is busy). */
export const recoversVia = async (
  pool: CryptoPool,
  digest: Hex,
  sig: unknown,
  who: string | undefined,
): Promise<boolean> => {
  if (typeof sig !== 'string' || who === undefined) return false
  return names(takeRecovered(digest, sig) ?? (await pool.recover(digest, sig as Hex)), who)
}

/**
 * Every participant's signature over `digest`, in order, as canonical strings; undefined if any
 * fails. This party's own signature is not recovered when it is, byte for byte, the one it handed
 * out last over this digest (`signedLast`): it made those bytes. Any other bytes at its index are
 * recovered like a peer's.
 */
export const verifyAll = (ch: ChannelMachine, digest: Hex, sigs: unknown): Hex[] | undefined => {
  if (!Array.isArray(sigs) || sigs.length !== ch.params.participants.length) return undefined
  const mine = ch.signedLast
  const known = mine !== undefined && mine.digest === lower(digest) ? mine.sig : undefined
  const out: Hex[] = []
  for (const [i, sig] of sigs.entries()) {
    const c = canonicalSignature(sig)
    if (c === undefined) return undefined
    if (!(i === ch.myIndex && c === known) && !recovers(digest, c, ch.params.participants[i]))
      return undefined
    out.push(c)
  }
  return out
}

/** The `commit` message of a co-signed state. */
export const commitOf = (ch: ChannelMachine, from: Address, s: SignedState): PeerMessage => ({
  type: 'commit',
  channelId: ch.id,
  from,
  version: s.state.version.toString(),
  digest: digestOf(ch, s.state),
  sigs: [...s.signatures],
  state: stateToWire(s.state),
})

/**
 * Reads what a peer shows it signed (in a refusal or a sync request): the state, whether the
 * peer's signature is on it, whether it is this party's own proposal (signed by `self`, not
 * withdrawn).
 */
export const readShown = (
  ch: ChannelMachine,
  self: Address,
  shown: NonNullable<Msg<'sync'>['signed']>,
  from: Address,
) => {
  const state = stateOf(shown.state)
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
      self,
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

/** An `accept` of the state this party recorded a signature for. */
export const acceptOf = (ch: ChannelMachine, from: Address, rec: SignatureRecord, sig: Hex): PeerMessage => ({
  type: 'accept',
  channelId: ch.id,
  from,
  version: rec.version.toString(),
  digest: rec.digest,
  sig,
})

/** A `reject` signed `sig`; `signed`: what this party shows it signed instead. */
export const rejectOf = (
  ch: ChannelMachine,
  from: Address,
  r: { version: bigint; digest: Hex; reason: string; message: string; sig: Hex },
  signed?: NonNullable<Msg<'sync'>['signed']>,
): PeerMessage => ({
  type: 'reject',
  channelId: ch.id,
  from,
  version: r.version.toString(),
  digest: r.digest,
  reason: r.reason,
  message: r.message,
  sig: r.sig,
  ...(signed === undefined ? {} : { signed }),
})
