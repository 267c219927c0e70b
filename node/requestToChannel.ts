import { isAddress, type Address, type Hex } from 'viem'
import { BUILT_IN_REGISTRY } from '../apps/builtInRegistry.ts'
import type { AppRegistry } from '../apps/module/createAppRegistry.ts'
import { getChannelId } from '../engine/channel/getChannelId.ts'
import type { ChannelParams, State } from '../engine/channel/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { OpenRequest } from './types.ts'

const UINT64_MAX = (1n << 64n) - 1n
const bad = (what: string) => new ChanvmError('INVALID_ARGUMENT', `open request: ${what}`)

/**
 * The channel an open request describes, as this node sees it: params (participants in role
 * order, the app's contract from `apps`, the app from `registry`) and the initial state (version 0). Both sides of a
 * channel build the same from the same request. A malformed request is `INVALID_ARGUMENT` naming
 * the field; an app without a contract in `apps` is `CONFIG`.
 *
 * @example
 * ```ts
 * const { params, initial } = requestToChannel(request, { self, chainId: 31337n, adjudicator, apps })
 * await party.open(params, initial)
 * ```
 */
export function requestToChannel(
  request: OpenRequest,
  ctx: {
    self: Address
    chainId: bigint
    adjudicator: Address
    apps: Readonly<Record<string, Address>>
    /** The apps this node runs; default the built-in ones. */
    registry?: AppRegistry
  },
): { params: ChannelParams; initial: State; channelId: Hex } {
  if (typeof request !== 'object' || request === null) throw bad('not an object')
  const registry = ctx.registry ?? BUILT_IN_REGISTRY
  const app = typeof request.app === 'string' ? registry.byName(request.app) : undefined
  if (app === undefined) throw bad(`app must be one of ${registry.names.join(', ')}`)
  const contract = Object.hasOwn(ctx.apps, request.app) ? ctx.apps[request.app] : undefined
  if (contract === undefined)
    throw new ChanvmError(
      'CONFIG',
      `no contract for ${request.app}: set chain.apps.${request.app} in the configuration`,
    )
  if (typeof request.counterparty !== 'string' || !isAddress(request.counterparty, { strict: false }))
    throw bad('counterparty must be an address')
  if (request.counterparty.toLowerCase() === ctx.self.toLowerCase())
    throw bad('the counterparty is this node itself')
  if (request.role !== 'first' && request.role !== 'second') throw bad("role must be 'first' or 'second'")
  const { balances } = request
  if (
    !Array.isArray(balances) ||
    balances.length !== 2 ||
    balances.some((b) => typeof b !== 'bigint' || b < 0n)
  )
    throw bad('balances must be two amounts of wei, not negative')
  if (typeof request.nonce !== 'bigint' || request.nonce < 0n || request.nonce >= 1n << 256n)
    throw bad('nonce must be an integer from 0 below 2^256')
  if (
    typeof request.challengeDuration !== 'bigint' ||
    request.challengeDuration <= 0n ||
    request.challengeDuration > UINT64_MAX
  )
    throw bad('challengeDuration must be a positive number of seconds')
  if (request.deposit !== undefined && typeof request.deposit !== 'boolean')
    throw bad('deposit must be true or false')
  if (typeof request.terms !== 'object' || request.terms === null || Array.isArray(request.terms))
    throw bad('terms must be an object')
  const appData = app.initialAppData(request.terms)
  const participants: Address[] =
    request.role === 'first' ? [ctx.self, request.counterparty] : [request.counterparty, ctx.self]
  const params: ChannelParams = {
    chainId: ctx.chainId,
    adjudicator: ctx.adjudicator,
    participants,
    app: contract,
    appCodeHash: app.artifact.codeHash,
    challengeDuration: request.challengeDuration,
    nonce: request.nonce,
  }
  const channelId = getChannelId(params)
  const initial: State = {
    channelId,
    version: 0n,
    balances: [balances[0], balances[1]],
    appData,
    isFinal: false,
  }
  return { params, initial, channelId }
}
