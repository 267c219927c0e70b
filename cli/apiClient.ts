// A small typed client of a chanvm node's HTTP API (docs/cli.md). Bigints travel as decimal
// strings; this client converts them both ways and checks the shape of what comes back.
import type { Address, Hex } from 'viem'
import { autoSender, fetchSender } from './apiSenders.ts'
import {
  CHANNEL_STATUSES,
  type AppAction,
  type AppName,
  type ChannelStatus,
  type ChannelSummary,
  type DisputePlan,
  type OpenRequest,
} from '../node/types.ts'

/** `T` as it travels in JSON: every bigint a decimal string. */
export type Wire<T> = T extends bigint
  ? string
  : T extends readonly unknown[] | object
    ? { [K in keyof T]: Wire<T[K]> }
    : T

/** An error answer of the node (`{ error: { code, message } }`), or no usable answer at all. */
export class ApiError extends Error {
  override name = 'ApiError'
  /** HTTP status; 0 when the node could not be reached or the answer was not JSON of the expected shape. */
  readonly status: number
  /** The node's error code, or `UNREACHABLE`, `TIMEOUT`, `BAD_RESPONSE`. */
  readonly code: string
  /** The node's `details` (e.g. the refused result of an action). */
  readonly details: unknown

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = status
    this.code = code
    this.details = options.details
  }
}

/** Options of {@link createApiClient}. */
export type ApiClientOptions = {
  /** Base URL of the node, e.g. `http://127.0.0.1:7311`. */
  url: string
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string
  /**
   * Requests go through this when given; by default through `node:http` with keep-alive
   * connections, then, for an `http:` URL, through undici (cli/apiSenders.ts `autoSender`).
   */
  fetch?: typeof fetch
  /**
   * Without a given fetch: how many requests go through `node:http` before undici's Pool, which
   * costs about half the CPU per request but 0.1 s to load (default 16; 0: from the first
   * request; Infinity: never). `https:` URLs always go through `node:https`.
   */
  undiciAfter?: number
  /** How long one request may take (a dispute step waits for its transaction). Default 120,000 ms. */
  timeoutMs?: number
  signal?: AbortSignal
}

/** The node's answer to GET /v1/health. */
export type NodeHealth = { status: string; address: Address; channels: number }

/** The node's answer to an action that was co-signed. */
export type ActResult = {
  ok: boolean
  version?: bigint
  balances?: bigint[]
  isFinal?: boolean
  gasUsed?: bigint
  /** The whole answer as it came. */
  raw: unknown
}

/** The typed calls of the HTTP API. */
export type ApiClient = {
  readonly url: string
  health(): Promise<NodeHealth>
  listChannels(): Promise<ChannelSummary[]>
  getChannel(channelId: Hex): Promise<ChannelSummary>
  openChannel(request: OpenRequest): Promise<ChannelSummary>
  /** Cancels an open that never completed (`POST /v1/channels/:id/cancel`). */
  cancelOpen(channelId: Hex): Promise<ChannelSummary>
  act(channelId: Hex, action: AppAction): Promise<ActResult>
  getDispute(channelId: Hex): Promise<DisputePlan>
  postDispute(channelId: Hex, options?: { force?: boolean }): Promise<DisputePlan>
}

/**
 * `value` with every bigint turned into a decimal string.
 *
 * @example
 * ```ts
 * toWire({ nonce: 7n }) // { nonce: '7' }
 * ```
 */
export function toWire<T>(value: T): Wire<T> {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  ) as Wire<T>
}

/**
 * A client of the node at `url`.
 *
 * @example
 * ```ts
 * const api = createApiClient({ url: 'http://127.0.0.1:7311', token: process.env.CHANVM_API_TOKEN })
 * for (const c of await api.listChannels()) console.log(c.channelId, c.version)
 * ```
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.url.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 120_000
  const send =
    options.fetch === undefined ? autoSender(base, options.undiciAfter) : fetchSender(options.fetch)

  const request = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`
    const answer = await send({
      method,
      url: `${base}${path}`,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body, bigintReplacer),
      timeoutMs,
      signal: options.signal,
    })
    if ('failure' in answer) {
      if (answer.failure === 'timeout')
        throw new ApiError(0, 'TIMEOUT', `${method} ${path}: no answer from ${base} within ${timeoutMs} ms`, {
          cause: answer.cause,
        })
      throw new ApiError(0, 'UNREACHABLE', `cannot reach the node at ${base}: ${causeText(answer.cause)}`, {
        cause: answer.cause,
      })
    }
    const { status, text } = answer
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (status < 200 || status > 299) {
      const err = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
        ?.error
      const code = typeof err?.code === 'string' ? err.code : `HTTP_${status}`
      const message = typeof err?.message === 'string' ? err.message : `${method} ${path}: HTTP ${status}`
      // A step the app rejected carries the sandbox's one-line reason (e.g. `Overspend(100, 50)`).
      const why = (err?.details as { step?: { message?: unknown } } | undefined)?.step?.message
      const full =
        typeof why === 'string' && why !== '' && !message.includes(why) ? `${message}: ${why}` : message
      throw new ApiError(status, code, full, { details: err?.details })
    }
    if (parsed === undefined) throw badResponse(`${method} ${path}: the answer is not JSON`)
    return parsed
  }
  const channelPath = (id: Hex) => `/v1/channels/${encodeURIComponent(id)}`

  return {
    url: base,
    async health() {
      const h = record(await request('GET', '/v1/health'), 'health')
      return {
        status: str(h['status'], 'health.status'),
        address: str(h['address'], 'health.address') as Address,
        channels: num(h['channels'], 'health.channels'),
      }
    },
    async listChannels() {
      const body = await request('GET', '/v1/channels')
      const list = Array.isArray(body) ? body : record(body, 'channels')['channels']
      if (!Array.isArray(list)) throw badResponse('GET /v1/channels: expected a list of channels')
      return list.map((c, i) => channelSummaryFromWire(c, `channels[${i}]`))
    },
    async getChannel(channelId) {
      return channelSummaryFromWire(await request('GET', channelPath(channelId)), 'channel')
    },
    async openChannel(req) {
      return channelSummaryFromWire(await request('POST', '/v1/channels', req), 'channel')
    },
    async cancelOpen(channelId) {
      return channelSummaryFromWire(await request('POST', `${channelPath(channelId)}/cancel`), 'channel')
    },
    async act(channelId, action) {
      return actResultFromWire(await request('POST', `${channelPath(channelId)}/actions`, action))
    },
    async getDispute(channelId) {
      return disputePlanFromWire(await request('GET', `${channelPath(channelId)}/dispute`))
    },
    async postDispute(channelId, opts = {}) {
      const body = opts.force === true ? { force: true } : {}
      return disputePlanFromWire(await request('POST', `${channelPath(channelId)}/dispute`, body))
    },
  }
}

const bigintReplacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v)

function causeText(cause: unknown): string {
  const own = (cause as { code?: unknown } | undefined)?.code
  if (typeof own === 'string') return own
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } })?.cause
  if (typeof inner?.code === 'string') return inner.code
  if (typeof inner?.message === 'string' && inner.message !== '') return inner.message
  return cause instanceof Error ? cause.message : String(cause)
}

const badResponse = (message: string) => new ApiError(0, 'BAD_RESPONSE', message)

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw badResponse(`${what}: expected an object`)
  return v as Record<string, unknown>
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw badResponse(`${what}: expected a string`)
  return v
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badResponse(`${what}: expected a number`)
  return v
}
function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw badResponse(`${what}: expected true or false`)
  return v
}
function big(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v)
  if (typeof v !== 'string' || !/^-?[0-9]{1,78}$/.test(v))
    throw badResponse(`${what}: expected a decimal integer`)
  return BigInt(v)
}
function bigs(v: unknown, what: string): bigint[] {
  if (!Array.isArray(v)) throw badResponse(`${what}: expected a list`)
  return v.map((x, i) => big(x, `${what}[${i}]`))
}
const optional = <T>(v: unknown, f: (v: unknown) => T): T | undefined =>
  v === undefined || v === null ? undefined : f(v)

/**
 * A ChannelSummary from its JSON form; throws `ApiError` BAD_RESPONSE naming the field that is off.
 *
 * @example
 * ```ts
 * const channel = channelSummaryFromWire(await (await fetch(`${url}/v1/channels/${id}`)).json())
 * ```
 */
export function channelSummaryFromWire(v: unknown, what = 'channel'): ChannelSummary {
  const c = record(v, what)
  const summary: ChannelSummary = {
    channelId: str(c['channelId'], `${what}.channelId`) as Hex,
    app: str(c['app'], `${what}.app`) as AppName,
    participants: (Array.isArray(c['participants']) ? c['participants'] : []).map(
      (p, i) => str(p, `${what}.participants[${i}]`) as Address,
    ),
    me: num(c['me'], `${what}.me`),
    status: statusOf(c['status'] ?? c['phase'], `${what}.status`),
    phase: str(c['phase'], `${what}.phase`) as ChannelSummary['phase'],
    version: big(c['version'], `${what}.version`),
    balances: bigs(c['balances'], `${what}.balances`),
    isFinal: bool(c['isFinal'], `${what}.isFinal`),
  }
  const roles = optional(c['roles'], (x) =>
    (Array.isArray(x) ? x : []).map((r, i) => str(r, `${what}.roles[${i}]`)),
  )
  if (roles !== undefined) {
    if (roles.length !== 2) throw badResponse(`${what}.roles: expected two names`)
    summary.roles = [roles[0]!, roles[1]!]
  }
  const oc = optional(c['onChain'], (x) => record(x, `${what}.onChain`))
  if (oc !== undefined)
    summary.onChain = {
      status: str(oc['status'], `${what}.onChain.status`) as 'open' | 'dispute' | 'concluded',
      version: big(oc['version'], `${what}.onChain.version`),
      baseVersion: big(oc['baseVersion'], `${what}.onChain.baseVersion`),
      finalizesAt: big(oc['finalizesAt'], `${what}.onChain.finalizesAt`),
      movesUntil: big(oc['movesUntil'] ?? '0', `${what}.onChain.movesUntil`),
    }
  const withdrawable = optional(c['withdrawable'], (x) => big(x, `${what}.withdrawable`))
  if (withdrawable !== undefined) summary.withdrawable = withdrawable
  return summary
}

function statusOf(v: unknown, what: string): ChannelStatus {
  const s = str(v, what)
  if (!(CHANNEL_STATUSES as readonly string[]).includes(s))
    throw badResponse(`${what}: unknown status '${s}'`)
  return s as ChannelStatus
}

const STEPS = ['register', 'force', 'conclude', 'conclude-final', 'withdraw'] as const

/**
 * A DisputePlan from its JSON form; throws `ApiError` BAD_RESPONSE naming the field that is off.
 *
 * @example
 * ```ts
 * const plan = disputePlanFromWire(JSON.parse(body))
 * if (plan.next.step === 'wait') console.log(plan.next.until)
 * ```
 */
export function disputePlanFromWire(v: unknown): DisputePlan {
  const p = record(v, 'dispute')
  const o = record(p['ours'], 'dispute.ours')
  const n = record(p['next'], 'dispute.next')
  const step = str(n['step'], 'dispute.next.step')
  let next: DisputePlan['next']
  if (step === 'wait')
    next = {
      step,
      until: big(n['until'], 'dispute.next.until'),
      reason: str(n['reason'] ?? '', 'dispute.next.reason'),
    }
  else if (step === 'none') next = { step, reason: str(n['reason'] ?? '', 'dispute.next.reason') }
  else if ((STEPS as readonly string[]).includes(step)) {
    next = {
      step: step as (typeof STEPS)[number],
      gas: big(n['gas'], 'dispute.next.gas'),
      feeWei: big(n['feeWei'], 'dispute.next.feeWei'),
    }
    const gain = optional(n['gainWei'], (x) => big(x, 'dispute.next.gainWei'))
    if (gain !== undefined) next.gainWei = gain
    const version = optional(n['version'], (x) => big(x, 'dispute.next.version'))
    if (version !== undefined) next.version = version
  } else throw badResponse(`dispute.next.step: unknown step '${step}'`)
  const plan: DisputePlan = {
    channelId: str(p['channelId'], 'dispute.channelId') as Hex,
    ours: {
      version: big(o['version'], 'dispute.ours.version'),
      balances: bigs(o['balances'], 'dispute.ours.balances'),
      isFinal: bool(o['isFinal'], 'dispute.ours.isFinal'),
    },
    next,
    payouts: bigs(p['payouts'], 'dispute.payouts'),
    worthIt: bool(p['worthIt'], 'dispute.worthIt'),
  }
  const me = optional(p['me'], (x) => num(x, 'dispute.me'))
  if (me !== undefined) plan.me = me
  const now = optional(p['now'], (x) => big(x, 'dispute.now'))
  if (now !== undefined) plan.now = now
  const idle = optional(p['payoutsIfIdle'], (x) => bigs(x, 'dispute.payoutsIfIdle'))
  if (idle !== undefined) plan.payoutsIfIdle = idle
  const h = optional(p['held'], (x) => record(x, 'dispute.held'))
  if (h !== undefined) {
    plan.held = {
      version: big(h['version'], 'dispute.held.version'),
      baseVersion: big(h['baseVersion'], 'dispute.held.baseVersion'),
      status: str(h['status'], 'dispute.held.status'),
      finalizesAt: big(h['finalizesAt'], 'dispute.held.finalizesAt'),
    }
    const balances = optional(h['balances'], (x) => bigs(x, 'dispute.held.balances'))
    if (balances !== undefined) plan.held.balances = balances
  }
  return plan
}

/**
 * What an action's answer says: co-signed or not, and the new state when it was.
 *
 * @example
 * ```ts
 * const { ok, version } = actResultFromWire(JSON.parse(body))
 * ```
 */
export function actResultFromWire(v: unknown): ActResult {
  const r = record(v, 'action')
  const ok = bool(r['ok'], 'action.ok')
  const result: ActResult = { ok, raw: v }
  const signed = optional(r['signed'], (x) => record(x, 'action.signed'))
  const state = optional(signed?.['state'], (x) => record(x, 'action.signed.state'))
  if (state !== undefined) {
    const version = optional(state['version'], (x) => big(x, 'action.signed.state.version'))
    if (version !== undefined) result.version = version
    const balances = optional(state['balances'], (x) => bigs(x, 'action.signed.state.balances'))
    if (balances !== undefined) result.balances = balances
    const isFinal = optional(state['isFinal'], (x) => bool(x, 'action.signed.state.isFinal'))
    if (isFinal !== undefined) result.isFinal = isFinal
  }
  const gas = optional(r['gasUsed'], (x) => big(x, 'action.gasUsed'))
  if (gas !== undefined) result.gasUsed = gas
  return result
}
