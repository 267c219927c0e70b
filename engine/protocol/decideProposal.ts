import type { Hex } from 'viem'
import type { RefusalReason } from './types.ts'

/**
 * What a party knows when a peer's proposal arrives. The first group is known at once; `envWithin`,
 * `step` and `approval` cost a clock read, a sandbox run and the party's policy, and are filled in
 * only when {@link decideProposal} asks for them (`need`).
 */
export type ProposalFacts = {
  /** The proposed post-state's version and digest, and the mover's index as the message names it. */
  version: bigint
  digest: Hex
  mover: number
  myIndex: number
  /** The sender is participant `mover` and the mover is not this party. */
  moverMatches: boolean
  /** The mover's EIP-712 `Proposal` signature recovers to the mover's address. */
  signatureValid: boolean
  /** Every participant has funded the channel (or funding is not required). */
  funded: boolean
  /** A dispute is registered on chain for the channel. Default false. */
  disputed?: boolean
  /** What the next step builds on (latest co-signed or newer adopted forced state), if any. */
  base: { version: bigint; isFinal: boolean } | undefined
  /** The version of the latest co-signed state this party holds, if any. */
  latestVersion: bigint | undefined
  /** The digest this party recorded a signature for at the proposal's version, if any. */
  signedDigest: Hex | undefined
  /**
   * This party's own proposal at the proposal's version, if any: `in-flight` while its update
   * waits for the others; `unsettled` once its update ended without a verdict on it (a timeout, a
   * store error under its last signature): a peer may have signed it, so it still counts.
   */
  own: 'in-flight' | 'unsettled' | undefined
  envWithin?: boolean
  step?: { ok: true; sameState: boolean } | { ok: false; message: string }
  /** The policy's verdict: `true` to sign, `false` or a reason to refuse. */
  approval?: boolean | string
}

export type ProposalDecision =
  /** Not from the mover it names: counted and ignored, no answer (nothing proves who sent it). */
  | { type: 'drop'; reason: 'bad-signature'; message: string }
  /** This party signed this very state before (a duplicate, or the accept was lost): accept again (not in dispute). */
  | { type: 'answer-again' }
  /** One more fact is needed before deciding. */
  | { type: 'need'; fact: 'env' | 'step' | 'approval' }
  /**
   * A signed refusal. `sendLatest`: the mover is behind, send it the latest co-signed state as a
   * commit. `syncFrom`: this party is behind, ask the mover for the co-signed state at that version.
   * `attachSigned`: show the state this party signed at the version instead. `yieldPending`: this
   * party's own proposal at this version lost to the mover's (lower index) and is abandoned.
   * `resendOwn`: this party's unsettled proposal at this version wins; send it to the mover again.
   */
  | {
      type: 'refuse'
      reason: RefusalReason
      message: string
      sendLatest?: true
      syncFrom?: bigint
      attachSigned?: true
      yieldPending?: true
      resendOwn?: true
    }
  /** Record the signature, then sign and accept. */
  | { type: 'sign'; yieldPending?: true }

/**
 * The rules a party applies to a peer's proposal, in order, as a pure function of what it knows
 * (docs/protocol.md, "One step"). The party's driver gathers the facts, asks again with any fact
 * the decision `need`s, and carries the decision out.
 *
 * @example
 * ```ts
 * const d = decideProposal({ version: 2n, digest, mover: 0, myIndex: 1, moverMatches: true, signatureValid: true,
 *   funded: true, base: { version: 0n, isFinal: false }, latestVersion: 0n, signedDigest: undefined, own: undefined })
 * // d: { type: 'refuse', reason: 'version-gap', syncFrom: 1n, ... }
 * ```
 */
export function decideProposal(f: ProposalFacts): ProposalDecision {
  if (!f.moverMatches || !f.signatureValid) {
    return {
      type: 'drop',
      reason: 'bad-signature',
      message: `proposal for version ${f.version} is not signed by participant ${f.mover}`,
    }
  }
  if (f.disputed === true)
    return {
      type: 'refuse',
      reason: 'disputed',
      message: 'a dispute is registered on chain for this channel: no new step is signed',
    }
  if (f.signedDigest !== undefined && f.signedDigest.toLowerCase() === f.digest.toLowerCase())
    return { type: 'answer-again' }
  if (!f.funded)
    return {
      type: 'refuse',
      reason: 'unfunded',
      message: 'this party has not seen every participant fund the channel',
    }
  const have = f.base?.version ?? -1n
  if (f.base === undefined || f.version > have + 1n) {
    return {
      type: 'refuse',
      reason: 'version-gap',
      message: `version ${f.version} does not follow version ${have}, the latest this party holds`,
      syncFrom: have + 1n,
    }
  }
  if (f.version <= have) {
    return {
      type: 'refuse',
      reason: 'stale',
      message: `version ${f.version} is not above version ${have}, the latest this party holds`,
      ...(f.latestVersion !== undefined && f.latestVersion >= f.version ? { sendLatest: true as const } : {}),
    }
  }
  if (f.base.isFinal) return { type: 'refuse', reason: 'final', message: `version ${have} is final` }
  if (f.signedDigest !== undefined) {
    return {
      type: 'refuse',
      reason: 'conflicting-signature',
      message: `this party already signed a different state at version ${f.version}`,
      attachSigned: true,
    }
  }
  // Proposals that cross at one version: the lower participant index wins, the other retries on
  // top. An unsettled proposal of this party counts as much as one in flight: the mover may have
  // signed it (its accept lost, or this party failed to sign last), and signing the mover's state
  // now would leave each side holding a signature on the other's state, neither ever co-signed.
  let yieldPending: { yieldPending?: true } = {}
  if (f.own !== undefined) {
    if (f.myIndex < f.mover) {
      return {
        type: 'refuse',
        reason: 'conflict',
        message: `participant ${f.myIndex} proposed version ${f.version} too and has the lower index`,
        ...(f.own === 'unsettled' ? { resendOwn: true as const } : {}),
      }
    }
    if (f.own === 'in-flight') yieldPending = { yieldPending: true }
  }
  if (f.envWithin === undefined) return { type: 'need', fact: 'env' }
  if (!f.envWithin)
    return {
      type: 'refuse',
      reason: 'env',
      message: "the proposal's env is outside this party's tolerance",
      ...yieldPending,
    }
  if (f.step === undefined) return { type: 'need', fact: 'step' }
  if (!f.step.ok) return { type: 'refuse', reason: 'step-rejected', message: f.step.message, ...yieldPending }
  if (!f.step.sameState) {
    return {
      type: 'refuse',
      reason: 'state-mismatch',
      message: 're-running the step gives a different post-state',
      ...yieldPending,
    }
  }
  if (f.approval === undefined) return { type: 'need', fact: 'approval' }
  if (f.approval !== true) {
    const message = f.approval === false ? 'this party does not agree to the step' : f.approval
    return { type: 'refuse', reason: 'refused', message, ...yieldPending }
  }
  return { type: 'sign', ...yieldPending }
}
