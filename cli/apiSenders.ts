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
      let settled = false
      const finish = (answer: Answer) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(answer)
      }
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
      let req: ClientRequest
      try {
        req = call({ ...target(url), method, headers, agent })
      } catch (cause) {
        resolve({ failure: 'unreachable', cause })
        return
      }
      const timer = setTimeout(() => {
        const cause = new Error(`no answer within ${timeoutMs} ms`)
        finish({ failure: 'timeout', cause })
        req.destroy(cause)
      }, timeoutMs)
      const onAbort = () => {
        const cause = signal?.reason ?? new Error('aborted')
        finish({ failure: 'unreachable', cause })
        req.destroy(cause instanceof Error ? cause : new Error(String(cause)))
      }
      if (signal !== undefined) {
        if (signal.aborted) onAbort()
        else signal.addEventListener('abort', onAbort, { once: true })
      }
      req.on('error', (cause) => finish({ failure: 'unreachable', cause }))
      req.on('response', (res) => {
        res.setEncoding('utf8')
        let text = ''
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => finish({ status: res.statusCode ?? 0, text }))
        res.on('error', (cause) => finish({ failure: 'unreachable', cause }))
      })
      req.end(body)
    })
}
