/**
 * The one error class chanvm throws for misuse and broken configuration. Verdicts (a rejected
 * step, a bad signature on a peer message) are values, not exceptions; see `StepResult`.
 *
 * Every error has a stable `code`, a one-line `shortMessage`, optional `details` lines and the
 * `cause`. Errors about a channel carry its id.
 *
 * @example
 * ```ts
 * try { await party.propose(action) } catch (e) {
 *   if (e instanceof ChanvmError && e.code === 'CONFLICTING_SIGNATURE') console.error(e.shortMessage)
 * }
 * ```
 */
export class ChanvmError extends Error {
  override name = 'ChanvmError'
  readonly code: ChanvmErrorCode
  readonly shortMessage: string
  readonly details: readonly string[]
  readonly channelId: `0x${string}` | undefined

  constructor(
    code: ChanvmErrorCode,
    shortMessage: string,
    options: { cause?: unknown; details?: readonly string[]; channelId?: `0x${string}` } = {},
  ) {
    const lines = [shortMessage]
    if (options.channelId !== undefined) lines.push(`channel: ${options.channelId}`)
    for (const d of options.details ?? []) lines.push(d)
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = options.details ?? []
    this.channelId = options.channelId
  }
}

export type ChanvmErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_SIGNATURE'
  | 'APP_CODE_MISMATCH'
  | 'CONFLICTING_SIGNATURE'
  | 'STALE_VERSION'
  | 'NOT_PARTICIPANT'
  | 'STEP_REJECTED'
  | 'PEER_REJECTED'
  | 'PEER_TIMEOUT'
  | 'STORE_ERROR'
  | 'CHANNEL_NOT_FOUND'
  | 'CHANNEL_FINAL'
  | 'TRANSPORT_CLOSED'
  | 'CHAIN_ERROR'
  | 'CONTRACT_REVERT'
  | 'CONFIG'
  /** A dispute step whose fee exceeds what it changes in the sender's payout (sent only when forced). */
  | 'NOT_WORTH_IT'
  /** A keystore that does not open with the passphrase given (or a passphrase that cannot be had). */
  | 'WRONG_PASSPHRASE'
  /** A method of the node whose module is not part of this build yet. */
  | 'NOT_IMPLEMENTED'
  /** A dispute is registered on chain for the channel: no new off-chain step is proposed or signed. */
  | 'DISPUTED'
  /** The data folder is held by another running node (two processes on one key could sign twice). */
  | 'DATA_DIR_LOCKED'
  /** Another client connected with this node's MQTT client id and took its session over. */
  | 'CLIENT_ID_TAKEN_OVER'
  /** A JSON-RPC call that did not answer within its bound. */
  | 'CHAIN_TIMEOUT'
  /** The MQTT broker is not connected, so a step cannot reach the peer now. */
  | 'BROKER_UNAVAILABLE'
  /** An open request for a channel (or a nonce with the same counterparty) held with other terms, or cancelled. */
  | 'OPEN_CONFLICT'
  /** A cancel of an open that completed or was funded: only an open with no co-signed state and no deposit can be cancelled. */
  | 'NOT_CANCELLABLE'
  /** Work handed to worker threads that they did not do: a thread died too often, or the pool was closed. */
  | 'WORKER_FAILED'
