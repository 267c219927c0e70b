// Who may call the API: with a token, whoever sends it (Authorization: Bearer); without one (only
// allowed on a loopback host), only loopback callers naming a loopback host.
import { createHash, timingSafeEqual } from 'node:crypto'
import { ChanvmError } from '../../engine/errors.ts'

const MIN_TOKEN_LENGTH = 16

/** True for an address or name that stays on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostOrAddress: string): boolean {
  const h = hostOrAddress.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  return (
    h === 'localhost' ||
    h === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  )
}

/** The host name of a Host header (`127.0.0.1:7311`, `[::1]:7311`, `localhost`). */
function hostHeaderName(host: string): string {
  const bracket = /^\[([^\]]*)\](?::\d+)?$/.exec(host)
  if (bracket !== null) return bracket[1] ?? ''
  const colon = host.lastIndexOf(':')
  return colon === -1 || host.indexOf(':') !== colon ? host : host.slice(0, colon)
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

export type Authorization = { ok: true } | { ok: false; status: 401 | 403; code: string; message: string }
const OK: Authorization = { ok: true }

/**
 * Checks one request. With `token`, the Authorization header must be `Bearer <token>` (compared in
 * constant time over SHA-256 digests, so neither content nor length leaks). Without it, the caller
 * must be on loopback and the Host header must name a loopback host: a web page that rebinds its
 * own domain to 127.0.0.1 is refused.
 */
export function authorizeRequest(
  request: { authorization: string | undefined; remoteAddress: string | undefined; host: string | undefined },
  token: string | undefined,
): Authorization {
  if (token !== undefined) {
    const header = request.authorization ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    const given = match?.[1] ?? ''
    const equal = timingSafeEqual(digest(given), digest(token))
    if (match === null || !equal) {
      return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'a valid bearer token is required' }
    }
    return { ok: true }
  }
  if (request.remoteAddress === undefined || !isLoopback(request.remoteAddress)) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: 'without a token only loopback callers' }
  }
  if (request.host === undefined || !isLoopback(hostHeaderName(request.host))) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: 'without a token the Host must be loopback' }
  }
  return { ok: true }
}

/**
 * Throws `CONFIG` for a token shorter than 16 characters and for a non-loopback host without a
 * token: the rules {@link createApiServer} enforces, for callers that check before they start.
 */
export function checkApiAccess(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ChanvmError('CONFIG', `the API token must have at least ${MIN_TOKEN_LENGTH} characters`)
  }
  if (token === undefined && !isLoopback(host)) {
    throw new ChanvmError('CONFIG', `the API listens on ${host}, not loopback: set a token`, {
      details: ['put it in CHANVM_API_TOKEN or in the variable the config names in http.tokenEnv'],
    })
  }
}

/**
 * {@link authorizeRequest} for one server's token. Without a token it remembers the last caller it
 * let in: the requests of a keep-alive connection repeat its address and Host header, and the
 * three loopback checks cost about 2 us a request.
 */
export function createAuthorizer(
  token: string | undefined,
): (request: Parameters<typeof authorizeRequest>[0]) => Authorization {
  if (token !== undefined) return (request) => authorizeRequest(request, token)
  let address: string | undefined
  let host: string | undefined
  return (request) => {
    if (request.remoteAddress === address && request.host === host && address !== undefined) return OK
    const verdict = authorizeRequest(request, undefined)
    if (verdict.ok) {
      address = request.remoteAddress
      host = request.host
    }
    return verdict
  }
}
