import {
  BaseError,
  ContractFunctionRevertedError,
  TimeoutError,
  decodeErrorResult,
  type Abi,
  type Hex,
} from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import { ChanvmError } from '../errors.ts'

/**
 * A revert of the Adjudicator, decoded: `errorName` is the custom error, e.g. `StaleVersion(version,
 * baseVersion)` (a co-signed state not above the base of the state held), `MovesClosed(channelId,
 * movesUntil)` (a forced step after the dispute's window for moves), `DisputeExpired`.
 */
export class AdjudicatorRevertError extends ChanvmError {
  override name = 'AdjudicatorRevertError'
  /** The custom error's name, or `'unknown'` when the revert carried no decodable data. */
  readonly errorName: string
  readonly errorArgs: readonly unknown[]
  /** For `AppReverted`: the app's own error, decoded with the app ABI when one was given. */
  readonly appError: { name: string; args: readonly unknown[] } | undefined

  constructor(
    errorName: string,
    errorArgs: readonly unknown[],
    options: {
      cause?: unknown
      channelId?: Hex
      action: string
      appError?: { name: string; args: readonly unknown[] }
    },
  ) {
    const text = (n: string, a: readonly unknown[]): string => `${n}(${a.map(show).join(', ')})`
    const details =
      options.appError === undefined
        ? []
        : [`app error: ${text(options.appError.name, options.appError.args)}`]
    super('CONTRACT_REVERT', `${options.action} reverted: ${text(errorName, errorArgs)}`, {
      cause: options.cause,
      details,
      ...(options.channelId === undefined ? {} : { channelId: options.channelId }),
    })
    this.errorName = errorName
    this.errorArgs = errorArgs
    this.appError = options.appError
  }
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'string') return v
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))
}

function decodeAppError(appAbi: Abi | undefined, data: Hex): { name: string; args: readonly unknown[] } {
  try {
    const r = decodeErrorResult({ abi: appAbi ?? [], data })
    return { name: r.errorName, args: (r.args ?? []) as readonly unknown[] }
  } catch {
    return { name: data === '0x' ? 'empty revert' : 'unknown', args: data === '0x' ? [] : [data] }
  }
}

/**
 * Turns whatever viem threw for an Adjudicator call into a typed error: an
 * {@link AdjudicatorRevertError} (code `CONTRACT_REVERT`) naming the custom error when the
 * contract reverted, with the app's own error decoded for `AppReverted`; `CHAIN_TIMEOUT` when the
 * endpoint did not answer within the transport's timeout; a `CHAIN_ERROR` otherwise (endpoint
 * down, bad response). Errors that already are ChanvmErrors pass through.
 *
 * @example
 * ```ts
 * try { await register(client, args) } catch (e) {
 *   const err = toAdjudicatorError(e, { action: 'register', channelId })
 *   if (err instanceof AdjudicatorRevertError && err.errorName === 'StaleVersion') retryHigher()
 *   if (err instanceof AdjudicatorRevertError && err.errorName === 'MovesClosed') waitForConclusion()
 * }
 * ```
 */
export function toAdjudicatorError(
  error: unknown,
  opts: { action: string; channelId?: Hex; appAbi?: Abi },
): ChanvmError {
  if (error instanceof ChanvmError) return error
  const idOpt = opts.channelId === undefined ? {} : { channelId: opts.channelId }
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError) {
      let name = reverted.data?.errorName
      let args = (reverted.data?.args ?? []) as readonly unknown[]
      if (name === undefined && reverted.raw !== undefined) {
        try {
          const r = decodeErrorResult({ abi: Adjudicator.abi, data: reverted.raw })
          name = r.errorName
          args = (r.args ?? []) as readonly unknown[]
        } catch {
          // not one of ours
        }
      }
      if (name !== undefined) {
        const appError =
          name === 'AppReverted' && typeof args[0] === 'string'
            ? decodeAppError(opts.appAbi, args[0] as Hex)
            : undefined
        return new AdjudicatorRevertError(name, args, {
          cause: error,
          action: opts.action,
          ...idOpt,
          ...(appError === undefined ? {} : { appError }),
        })
      }
      return new AdjudicatorRevertError('unknown', reverted.raw === undefined ? [] : [reverted.raw], {
        cause: error,
        action: opts.action,
        ...idOpt,
      })
    }
    if (error.walk((e) => e instanceof TimeoutError) instanceof TimeoutError)
      return new ChanvmError(
        'CHAIN_TIMEOUT',
        `${opts.action} failed: the JSON-RPC endpoint did not answer in time`,
        { cause: error, ...idOpt },
      )
    return new ChanvmError('CHAIN_ERROR', `${opts.action} failed: ${error.shortMessage}`, {
      cause: error,
      ...idOpt,
    })
  }
  return new ChanvmError(
    'CHAIN_ERROR',
    `${opts.action} failed: ${(error as Error)?.message ?? String(error)}`,
    { cause: error, ...idOpt },
  )
}
