// The node's HTTP API as the page calls it: JSON with the bearer token kept for this tab
// (sessionStorage), and the event stream read over fetch (EventSource cannot send a token).

const TOKEN_KEY = 'chanvm-api-token'

/** An API answer that is not 2xx, with the node's error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

let askToken = async () => undefined

/** True when the node wants a token and this tab has none yet. */
export async function needsToken() {
  if (sessionStorage.getItem(TOKEN_KEY) !== null) return false
  const res = await fetch('/dashboard/access.json')
  const access = await res.json()
  return access.tokenRequired === true
}

/** Asks for the token now and keeps it for the tab. */
export async function requestToken() {
  const token = await askToken()
  if (token !== undefined) sessionStorage.setItem(TOKEN_KEY, token)
}

/** Sets how the page asks a person for the token when the node answers 401. */
export function onTokenNeeded(ask) {
  askToken = ask
}

function headers() {
  const token = sessionStorage.getItem(TOKEN_KEY)
  return token === null ? {} : { authorization: `Bearer ${token}` }
}

/** Calls the API; on 401 asks for the token once and tries again. */
export async function api(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, {
      ...init,
      headers: { ...headers(), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    })
    if (res.status === 401 && attempt < 3) {
      const token = await askToken()
      if (token !== undefined) {
        sessionStorage.setItem(TOKEN_KEY, token)
        continue
      }
    }
    const body = await res.json().catch(() => ({}))
    if (!res.ok) {
      const e = body.error ?? {}
      throw new ApiError(res.status, e.code ?? 'HTTP_' + res.status, e.message ?? res.statusText)
    }
    return body
  }
}

/**
 * Follows the node's server-sent events: calls `onEvent` with each event's JSON and `onState`
 * with true/false as the stream opens and drops; reconnects after a drop. Returns a stop function.
 */
export function followEvents(onEvent, onState) {
  let stopped = false
  let controller
  const run = async () => {
    while (!stopped) {
      controller = new AbortController()
      try {
        const res = await fetch('/v1/events', { headers: headers(), signal: controller.signal })
        if (res.status === 401) {
          const token = await askToken()
          if (token !== undefined) sessionStorage.setItem(TOKEN_KEY, token)
          continue
        }
        if (!res.ok || res.body === null) throw new Error(`events: ${res.status}`)
        onState(true)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let cut
          while ((cut = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n')
            if (data !== '') {
              try {
                onEvent(JSON.parse(data))
              } catch {
                // one malformed event does not stop the stream
              }
            }
          }
        }
      } catch {
        // dropped: try again below
      }
      onState(false)
      if (!stopped) await new Promise((r) => setTimeout(r, 2000))
    }
  }
  void run()
  return () => {
    stopped = true
    controller?.abort()
  }
}
