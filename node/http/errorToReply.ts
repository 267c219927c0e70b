// Every error the API answers has one shape, `{ error: { code, message } }`, and never a stack trace.
import { ChanvmError } from '../../engine/errors.ts'
import type { UpdateResult } from '../../engine/protocol/types.ts'

export type ErrorReply = {
  status: number
  body: { error: { code: string; message: string; details?: unknown } }
}

/**
 * ChanvmError codes that mean "the request is fine, but the channel's state refuses it" (or the
 * chain does: `APP_CODE_MISMATCH`, an open whose app contract is not the app's code).
 */
const CONFLICT_CODES = new Set<string>([
  'APP_CODE_MISMATCH',
  'STEP_REJECTED',
  'PEER_REJECTED',
  'STALE_VERSION',
  'CONFLICTING_SIGNATURE',
  'CHANNEL_FINAL',
  'NOT_PARTICIPANT',
  'NOT_WORTH_IT',
  'OPEN_CONFLICT',
  'NOT_CANCELLABLE',
  'CONFLICT',
  'DISPUTED',
])

/** fastify's own error codes (`FST_ERR_…`) as the node's: a client sees one vocabulary. */
const FRAMEWORK_CODES: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'BODY_TOO_LARGE',
    message: 'request body is larger than the limit',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'the body must be application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'EMPTY_BODY',
    message: 'the body is empty but the content type is application/json',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'the body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'BAD_REQUEST',
    message: 'the content-length does not match the body',
  },
}

/** The node's code for a client error fastify raised without one it knows. */
function statusCode(status: number): string {
  if (status === 400) return 'BAD_REQUEST'
  if (status === 404) return 'NOT_FOUND'
  if (status === 405) return 'METHOD_NOT_ALLOWED'
  if (status === 413) return 'BODY_TOO_LARGE'
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE'
  return `HTTP_${status}`
}

type ValidationIssue = {
  instancePath?: string
  keyword?: string
  params?: { type?: unknown }
  parentSchema?: { pattern?: unknown }
  data?: unknown
}

/**
 * A validation message; a JSON number where the API wants an integer as a decimal string says
 * so, since numbers above 2^53 lose precision in JSON.
 */
function validationMessage(message: string, issues: readonly ValidationIssue[], context: unknown): string {
  const first = issues[0]
  if (
    first?.keyword === 'type' &&
    first.params?.type === 'string' &&
    first.parentSchema?.pattern === '^[0-9]+$' &&
    typeof first.data === 'number'
  ) {
    const where = `${typeof context === 'string' ? context : 'body'}${first.instancePath ?? ''}`
    return `${where} must be a decimal string such as "${BigInt(Math.max(0, Math.trunc(first.data))).toString()}", not a JSON number: large integers (amounts, nonces, versions) travel as strings because JSON numbers lose precision above 2^53`
  }
  return message
}

/**
 * The status and body for an error thrown while serving a request. Validation errors are 400, a
 * body over the limit 413, a body that is not JSON 415, an unknown channel 404, a refused step, a step on a channel in
 * dispute, an open that conflicts with the channel held or a dispute step that is not worth its gas 409, a
 * node method not built 501, a peer or a chain endpoint that did not answer in time (`PEER_TIMEOUT`,
 * `CHAIN_TIMEOUT`) 504, an action while the MQTT broker is not connected (`BROKER_UNAVAILABLE`) 503;
 * none of those is logged as an internal error. Anything unexpected is a bare 500
 * (`internal` is true: log it, do not show it). fastify's `FST_ERR_…` codes never reach a client:
 * each becomes the node's own (`BODY_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`, `INVALID_JSON`, ...).
 * The `details` of a ChanvmError (e.g. what differs in a conflicting open) travel as `details`.
 */
export function errorToReply(error: unknown): ErrorReply & { internal: boolean } {
  const reply = (status: number, code: string, message: string, internal = false, details?: unknown) => ({
    status,
    body: { error: { code, message, ...(details === undefined ? {} : { details }) } },
    internal,
  })
  if (error instanceof ChanvmError) {
    const details = error.details.length > 0 ? [...error.details] : undefined
    const as = (status: number, internal = false) =>
      reply(status, error.code, error.shortMessage, internal, internal ? undefined : details)
    if (error.code === 'CHANNEL_NOT_FOUND') return as(404)
    if (error.code === 'INVALID_ARGUMENT') return as(400)
    if (error.code === 'PEER_TIMEOUT' || error.code === 'CHAIN_TIMEOUT') return as(504)
    if (error.code === 'BROKER_UNAVAILABLE') return as(503)
    if (error.code === 'NOT_IMPLEMENTED') return as(501)
    if (CONFLICT_CODES.has(error.code)) return as(409)
    return as(500, true)
  }
  const e = error as {
    validation?: unknown
    validationContext?: unknown
    statusCode?: unknown
    code?: unknown
    message?: unknown
  }
  if (e !== null && typeof e === 'object') {
    if (e.validation !== undefined) {
      const issues = Array.isArray(e.validation) ? (e.validation as ValidationIssue[]) : []
      return reply(400, 'VALIDATION', validationMessage(String(e.message), issues, e.validationContext))
    }
    const known = typeof e.code === 'string' ? FRAMEWORK_CODES[e.code] : undefined
    if (known !== undefined) return reply(known.status, known.code, known.message)
    const status = typeof e.statusCode === 'number' ? e.statusCode : 500
    if (status >= 400 && status < 500) {
      const own = typeof e.code === 'string' && !e.code.startsWith('FST_') ? e.code : statusCode(status)
      return reply(status, own, String(e.message))
    }
  }
  return reply(500, 'INTERNAL', 'internal error', true)
}

/** Status and error code of an action the channel did not co-sign. */
export function refusedAction(result: Extract<UpdateResult, { ok: false }>): {
  status: number
  message: string
} {
  switch (result.reason) {
    case 'peer-timeout':
      return { status: 504, message: `no answer from ${result.missing.join(', ')}` }
    case 'peer-rejected':
      return { status: 409, message: `${result.from} refused: ${result.message}` }
    case 'step-rejected':
      return { status: 409, message: `the app rejected the step: ${result.step.message}` }
    default:
      return { status: 409, message: result.message }
  }
}
