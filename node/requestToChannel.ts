import { isAddress, type Address, type Hex } from 'viem'
import { coldChainApp, initialColdChainData } from '../apps/coldChain/coldChainClient.ts'
import { escrowApp, initialEscrowData } from '../apps/escrow/escrowClient.ts'
import { initialTvDeliveryData, tvDeliveryApp } from '../apps/tvDelivery/tvDeliveryClient.ts'
import { getChannelId } from '../engine/channel/getChannelId.ts'
import type { ChannelParams, State } from '../engine/channel/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { AppCode } from '../engine/protocol/types.ts'
import { APP_NAMES, type AppName, type OpenRequest } from './types.ts'

/** The apps a node runs, by name: runtime code, ABI and code hash. */
export const NODE_APPS: Record<AppName, AppCode & { codeHash: Hex }> = {
  escrow: escrowApp,
  'tv-delivery': tvDeliveryApp,
  'cold-chain': coldChainApp,
}

/** The app a channel runs, by its params' code hash; undefined for an app this node does not run. */
export function appOfParams(params: ChannelParams): AppName | undefined {
  const hash = params.appCodeHash.toLowerCase()
  return APP_NAMES.find((n) => NODE_APPS[n].codeHash.toLowerCase() === hash)
}

const UINT64_MAX = (1n << 64n) - 1n
const bad = (what: string) => new ChanvmError('INVALID_ARGUMENT', `open request: ${what}`)

type Terms = OpenRequest['terms']

/** Reads the app terms, refusing unknown ones: each getter names the field it was asked for. */
function termsReader(app: AppName, terms: Terms, known: readonly string[]) {
  if (typeof terms !== 'object' || terms === null) throw bad('terms must be an object')
  for (const k of Object.keys(terms))
    if (!known.includes(k)) throw bad(`terms.${k} is not a term of ${app} (its terms: ${known.join(', ')})`)
  const get = (k: string) => {
    const v = terms[k]
    if (v === undefined) throw bad(`terms.${k} is missing`)
    return v
  }
  const int = (k: string, min: bigint, max: bigint): bigint => {
    const v = get(k)
    let n: bigint
    if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v)
    else if (typeof v === 'string' && /^-?\d{1,78}$/.test(v)) n = BigInt(v)
    else if (typeof v === 'number' && Number.isInteger(v))
      throw bad(
        `terms.${k} is above 2^53 as a JSON number and lost its precision: send it as a decimal string`,
      )
    else throw bad(`terms.${k} must be an integer (a number, or a decimal string for large ones)`)
    if (n < min || n > max) throw bad(`terms.${k} must be in ${min}..${max}`)
    return n
  }
  return {
    int,
    small: (k: string, min: number, max: number) => Number(int(k, BigInt(min), BigInt(max))),
    address: (k: string): Address => {
      const v = get(k)
      if (typeof v !== 'string' || !isAddress(v, { strict: false }))
        throw bad(`terms.${k} must be an address`)
      return v
    },
    bytes32: (k: string): Hex => {
      const v = get(k)
      if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v))
        throw bad(`terms.${k} must be 32 bytes of hex`)
      return v.toLowerCase() as Hex
    },
    bytes32List: (k: string): Hex[] => {
      const v = get(k)
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(x)))
        throw bad(`terms.${k} must be a list of 32-byte hex signer ids`)
      return v.map((x) => x.toLowerCase() as Hex)
    },
    text: (k: string): string => {
      const v = get(k)
      if (typeof v !== 'string') throw bad(`terms.${k} must be text`)
      return v
    },
  }
}

/** The app data of a fresh channel of `app` from its terms (participant 0 pays, 1 is paid). */
function initialAppData(app: AppName, terms: Terms): Hex {
  switch (app) {
    case 'escrow': {
      const t = termsReader(app, terms, ['arbiter'])
      return initialEscrowData({ payer: 0, payee: 1, arbiter: t.address('arbiter') })
    }
    case 'tv-delivery': {
      const t = termsReader(app, terms, ['trackingId', 'oracles', 'quorum', 'price', 'deadline'])
      return initialTvDeliveryData({
        buyer: 0,
        seller: 1,
        trackingId: t.text('trackingId'),
        oracles: t.bytes32List('oracles'),
        quorum: t.small('quorum', 1, 255),
        price: t.int('price', 1n, (1n << 256n) - 1n),
        deadline: t.int('deadline', 0n, UINT64_MAX),
      })
    }
    case 'cold-chain': {
      const t = termsReader(app, terms, [
        'device',
        'minValue',
        'maxValue',
        'runLength',
        'premium',
        'insuredSum',
        'periodSeconds',
        'maxPeriods',
        'claimWindow',
      ])
      const INT64 = 1n << 63n
      return initialColdChainData({
        owner: 0,
        insurer: 1,
        device: t.bytes32('device'),
        minValue: t.int('minValue', -INT64, INT64 - 1n),
        maxValue: t.int('maxValue', -INT64, INT64 - 1n),
        runLength: t.small('runLength', 1, 0xffff),
        premium: t.int('premium', 0n, (1n << 256n) - 1n),
        insuredSum: t.int('insuredSum', 1n, (1n << 256n) - 1n),
        periodSeconds: t.int('periodSeconds', 1n, UINT64_MAX),
        maxPeriods: t.int('maxPeriods', 1n, UINT64_MAX),
        claimWindow: t.int('claimWindow', 0n, UINT64_MAX),
      })
    }
  }
}

/**
 * The channel an open request describes, as this node sees it: params (participants in role
 * order, the app's contract from `apps`) and the initial state (version 0). Both sides of a
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
  ctx: { self: Address; chainId: bigint; adjudicator: Address; apps: Partial<Record<AppName, Address>> },
): { params: ChannelParams; initial: State; channelId: Hex } {
  if (typeof request !== 'object' || request === null) throw bad('not an object')
  if (!APP_NAMES.includes(request.app)) throw bad(`app must be one of ${APP_NAMES.join(', ')}`)
  const contract = ctx.apps[request.app]
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
  const appData = initialAppData(request.app, request.terms)
  const participants: Address[] =
    request.role === 'first' ? [ctx.self, request.counterparty] : [request.counterparty, ctx.self]
  const params: ChannelParams = {
    chainId: ctx.chainId,
    adjudicator: ctx.adjudicator,
    participants,
    app: contract,
    appCodeHash: NODE_APPS[request.app].codeHash,
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
