// How the API client's requests travel: through a given `fetch`, through `node:http` with
// keep-alive connections, or through undici's Pool (cli/apiClient.ts chooses). Each answers with
// the status and body text, or with why there is none; the client turns that into its typed errors.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { urlToHttpOptions } from 'node:url'
import type { Dispatcher, Pool } from 'undici'

/** One request as a sender makes it. */
export type Outgoing = {
  method: 'GET' | 'POST'
  url: string
  headers: Record<string, string>
  body: string | undefined
  timeoutMs: number
  signal: AbortSignal | undefined
}
/** The status and body text of an answer, or why there is none. */
export type Answer = { status: number; text: string } | { failure: 'timeout' | 'unreachable'; cause: unknown }
export type Sender = (out: Outgoing) => Promise<Answer>

/** Requests through a given `fetch` (a test's, or the browser's). */
export function fetchSender(doFetch: typeof fetch): Sender {
  return async ({ method, url, headers, body, timeoutMs, signal: outer }) => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = outer === undefined ? timeout : AbortSignal.any([timeout, outer])
    try {
      const res = await doFetch(url, { method, headers, signal, ...(body === undefined ? {} : { body }) })
      return { status: res.status, text: await res.text() }
    } catch (cause) {
      return { failure: timeout.aborted ? 'timeout' : 'unreachable', cause }
    }
  }
}

/**
 * Requests through `node:http` (or `node:https`) with keep-alive connections: several times less
 * CPU per request than `fetch`, which builds Request, Response, Headers and web streams for each.
 * An idle connection is closed after 4 s, and before the server's announced keep-alive timeout.
 */
export function nodeHttpSender(base: string): Sender {
  const secure = base.startsWith('https:')
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, timeout: IDLE_MS })
    : new HttpAgent({ keepAlive: true, timeout: IDLE_MS })
  const call = secure ? httpsRequest : httpRequest
  // What node:http makes of each URL (a URL parse, then its options), kept per URL: a client
  // calls the same few paths again and again.
  const target = perUrl((url) => urlToHttpOptions(new URL(url)))
  return ({ method, url, headers, body, timeoutMs, signal }) =>
    new Promise<Answer>((resolve) => {
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
      let req: ClientRequest
      try {
        req = call({ ...target(url), method, headers, agent })
      } catch (cause) {
        resolve({ failure: 'unreachable', cause })
        return
      }
      const exchange = new HttpExchange(req, resolve)
      exchange.start(timeoutMs, signal)
      req.on('error', (cause) => exchange.finish({ failure: 'unreachable', cause }))
      req.on('response', (res) => {
        res.setEncoding('utf8')
        let text = ''
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => exchange.finish({ status: res.statusCode ?? 0, text }))
        res.on('error', (cause) => exchange.finish({ failure: 'unreachable', cause }))
      })
      req.end(body)
    })
}

/**
 * Requests through undici's `Pool` and its `dispatch`, for `http:` and `https:` URLs: about half
 * the client CPU of `node:http` per request (no ClientRequest, IncomingMessage and their streams,
 * no agent bookkeeping). As with `node:http`: kept-alive connections, one per request in flight,
 * an idle one closed after 4 s and 1 s before the server's announced keep-alive timeout, no
 * redirect followed, no time limit but the request's own (its timer). undici reuses a connection
 * an event-loop turn after its answer, so requests one right after the other alternate between two.
 */
export function undiciSender(base: string, PoolClass: typeof Pool): Sender {
  const origin = new URL(base).origin
  const pool = new PoolClass(origin, {
    keepAliveTimeout: IDLE_MS,
    keepAliveMaxTimeout: IDLE_MS,
    keepAliveTimeoutThreshold: 1_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { timeout: 0 },
  })
  const path = perUrl((url) => {
    const u = new URL(url)
    if (u.origin !== origin) throw new Error(`${url} is not on ${origin}`)
    return `${u.pathname}${u.search}`
  })
  return ({ method, url, headers, body, timeoutMs, signal }) =>
    new Promise<Answer>((resolve) => {
      const exchange = new UndiciExchange(resolve)
      try {
        pool.dispatch({ method, path: path(url), headers, body: body ?? null }, exchange)
      } catch (cause) {
        exchange.finish({ failure: 'unreachable', cause })
        return
      }
      exchange.start(timeoutMs, signal)
    })
}

/** How many requests a client makes through `node:http` before {@link autoSender} loads undici. */
export const UNDICI_AFTER = 16

/**
 * `node:http` for a client's first `after` requests, then {@link undiciSender} for `http:` URLs.
 * Loading undici's Pool and compiling its HTTP parser (WebAssembly) costs a process about 0.1 s of
 * CPU, and node waits for that compilation before it exits: a program that makes a few requests
 * would start and end later. A client that makes many requests (the demo's, the benchmark's) pays
 * it once and then half the CPU per request. `https:` stays with `node:https`.
 */
export function autoSender(base: string, after = UNDICI_AFTER): Sender {
  const slow = nodeHttpSender(base)
  if (!base.startsWith('http:') || after === Infinity) return slow
  let sent = 0
  let fast: Sender | undefined
  let loading: Promise<Sender> | undefined
  return (out) => {
    if (fast !== undefined) return fast(out)
    if (++sent <= after) return slow(out)
    loading ??= import('undici/lib/dispatcher/pool.js').then(
      ({ default: PoolClass }) => (fast = undiciSender(base, PoolClass)),
      () => (fast = slow),
    )
    return loading.then((send) => send(out))
  }
}

const IDLE_MS = 4_000

/** `make(url)`, kept per URL (at most 256). */
function perUrl<T>(make: (url: string) => T): (url: string) => T {
  const kept = new Map<string, T>()
  return (url) => {
    let value = kept.get(url)
    if (value === undefined) {
      if (kept.size >= 256) kept.clear()
      value = make(url)
      kept.set(url, value)
    }
    return value
  }
}

/**
 * One request in flight: it answers once, then clears its timer and its abort listener. Its
 * timer and abort listener are this object's methods, not closures made per request: a bundle
 * built with keepNames names each closure kept in a variable, a property definition per request.
 */
abstract class Exchange {
  #settled = false
  readonly #resolve: (answer: Answer) => void
  #signal: AbortSignal | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(resolve: (answer: Answer) => void) {
    this.#resolve = resolve
  }

  /** Starts the request's timer and listens to the caller's signal. */
  start(timeoutMs: number, signal: AbortSignal | undefined): void {
    if (this.#settled) return
    this.#timer = setTimeout(timeOut, timeoutMs, this, timeoutMs)
    if (signal !== undefined) {
      this.#signal = signal
      if (signal.aborted) this.handleEvent()
      else signal.addEventListener('abort', this, { once: true })
    }
  }

  finish(answer: Answer): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this)
    this.#resolve(answer)
  }

  /** No answer in time: a timeout, and the request is dropped. */
  timeOut(timeoutMs: number): void {
    const cause = new Error(`no answer within ${timeoutMs} ms`)
    this.finish({ failure: 'timeout', cause })
    this.drop(cause)
  }

  /** The caller's signal aborted (the signal calls this as its listener). */
  handleEvent(): void {
    const cause: unknown = this.#signal?.reason ?? new Error('aborted')
    this.finish({ failure: 'unreachable', cause })
    this.drop(cause instanceof Error ? cause : new Error(String(cause)))
  }

  /** Ends the request and its connection. */
  protected abstract drop(cause: Error): void
}

function timeOut(exchange: Exchange, timeoutMs: number): void {
  exchange.timeOut(timeoutMs)
}

class HttpExchange extends Exchange {
  readonly #req: ClientRequest

  constructor(req: ClientRequest, resolve: (answer: Answer) => void) {
    super(resolve)
    this.#req = req
  }

  protected drop(cause: Error): void {
    this.#req.destroy(cause)
  }
}

/** A request through undici: the exchange is also its dispatch handler. */
class UndiciExchange extends Exchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined
  #dropped: Error | undefined
  #status = 0
  #chunks: Buffer[] = []

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#dropped !== undefined) controller.abort(this.#dropped)
    else this.#controller = controller
    if (this.#chunks.length > 0) this.#chunks = []
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk)
  }

  onResponseEnd(): void {
    const chunks = this.#chunks
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')
    this.finish({ status: this.#status, text })
  }

  onResponseError(_controller: Dispatcher.DispatchController, cause: Error): void {
    this.finish({ failure: 'unreachable', cause })
  }

  protected drop(cause: Error): void {
    this.#dropped = cause
    this.#controller?.abort(cause)
  }
}
