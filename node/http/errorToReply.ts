// Every error the API answers has one shape, `{ error: { code, message } }`, and never a stack trace.
import { ChanvmError } from '../../engine/errors.ts'

export type ErrorReply = {
  status: number
  body: { error: { code: string; message: string; details?: unknown } }
}

/** ChanvmError codes that mean "the request is fine, but the channel's state refuses it". */
const CONFLICT_CODES = new Set<string>([
  'STEP_REJECTED',
  'PEER_REJECTED',
  'STALE_VERSION',
  'CONFLICTING_SIGNATURE',
  'CHANNEL_FINAL',
  'NOT_PARTICIPANT',
  'NOT_WORTH_IT',
  'CONFLICT',
  'DISPUTED',
])

/**
 * The status and body for an error thrown while serving a request. Validation errors are 400, a
 * body over the limit 413, an unknown channel 404, a refused step, a step on a channel in dispute or
 * a dispute step that is not worth its gas 409, a node method not built 501, a peer that did not answer 504; anything unexpected is a bare 500 (`internal`
 * is true: log it, do not show it).
 */
export function errorToReply(error: unknown): ErrorReply & { internal: boolean } {
  const reply = (status: number, code: string, message: string, internal = false) => ({
    status,
    body: { error: { code, message } },
    internal,
  })
  if (error instanceof ChanvmError) {
    if (error.code === 'CHANNEL_NOT_FOUND') return reply(404, error.code, error.shortMessage)
    if (error.code === 'INVALID_ARGUMENT') return reply(400, error.code, error.shortMessage)
    if (error.code === 'PEER_TIMEOUT') return reply(504, error.code, error.shortMessage)
    if (error.code === 'NOT_IMPLEMENTED') return reply(501, error.code, error.shortMessage)
    if (CONFLICT_CODES.has(error.code)) return reply(409, error.code, error.shortMessage)
    return reply(500, error.code, error.shortMessage, true)
  }
  const e = error as { validation?: unknown; statusCode?: unknown; code?: unknown; message?: unknown }
  if (e !== null && typeof e === 'object') {
    if (e.validation !== undefined) return reply(400, 'VALIDATION', String(e.message))
    const status = typeof e.statusCode === 'number' ? e.statusCode : 500
    if (status === 413) return reply(413, 'BODY_TOO_LARGE', 'request body is larger than the limit')
    if (status >= 400 && status < 500) {
      const code = typeof e.code === 'string' ? e.code : 'BAD_REQUEST'
      return reply(status, code, String(e.message))
    }
  }
  return reply(500, 'INTERNAL', 'internal error', true)
}
