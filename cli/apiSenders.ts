// How the API client's requests travel: through a given `fetch`, or through `node:http` with
// keep-alive connections (cli/apiClient.ts chooses). Each answers with the status and body text,
// or with why there is none; the client turns that into its typed errors.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https'
import { urlToHttpOptions } from 'node:url'

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
    ? new HttpsAgent({ keepAlive: true, timeout: 4_000 })
    : new HttpAgent({ keepAlive: true, timeout: 4_000 })
  const call = secure ? httpsRequest : httpRequest
  // What node:http makes of each URL (a URL parse, then its options), kept per URL: a client
  // calls the same few paths again and again.
  const targets = new Map<string, RequestOptions>()
  const target = (url: string): RequestOptions => {
    let options = targets.get(url)
    if (options === undefined) {
      if (targets.size >= 256) targets.clear()
      options = urlToHttpOptions(new URL(url))
      targets.set(url, options)
    }
    return options
  }
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
      const exchange = new Exchange(req, resolve, timeoutMs, signal)
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
 * One request in flight: it answers once, then clears its timer and its abort listener. Its
 * timer and abort listener are this object's methods, not closures made per request: a bundle
 * built with keepNames names each closure kept in a variable, a property definition per request.
 */
class Exchange {
  #settled = false
  readonly #req: ClientRequest
  readonly #resolve: (answer: Answer) => void
  readonly #signal: AbortSignal | undefined
  readonly #timer: NodeJS.Timeout

  constructor(
    req: ClientRequest,
    resolve: (answer: Answer) => void,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ) {
    this.#req = req
    this.#resolve = resolve
    this.#signal = signal
    this.#timer = setTimeout(timeOut, timeoutMs, this, timeoutMs)
    if (signal !== undefined) {
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
    this.#req.destroy(cause)
  }

  /** The caller's signal aborted (the signal calls this as its listener). */
  handleEvent(): void {
    const cause: unknown = this.#signal?.reason ?? new Error('aborted')
    this.finish({ failure: 'unreachable', cause })
    this.#req.destroy(cause instanceof Error ? cause : new Error(String(cause)))
  }
}

function timeOut(exchange: Exchange, timeoutMs: number): void {
  exchange.timeOut(timeoutMs)
}
