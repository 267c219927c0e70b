// Conversions between the API's JSON (amounts as decimal strings) and the node's types (bigints).
// Bodies reach these functions already validated against node/http/schemas.ts.
import fastJsonStringify from 'fast-json-stringify'
import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppAction, NodeEvent, OpenRequest } from '../types.ts'
import { stateSchema, updateResultSchema } from './schemas.ts'

const MAX_UINT256 = (1n << 256n) - 1n

/** A validated decimal string as a uint256; a larger number is an `INVALID_ARGUMENT`. */
export function wireToUint(value: string, field: string): bigint {
  const n = BigInt(value)
  if (n > MAX_UINT256) throw new ChanvmError('INVALID_ARGUMENT', `${field} does not fit in 256 bits`)
  return n
}

/** The JSON body of `POST /v1/channels` as an {@link OpenRequest}. */
export function wireToOpenRequest(body: {
  app: OpenRequest['app']
  counterparty: string
  role: OpenRequest['role']
  balances: string[]
  nonce: string
  challengeDuration: string
  terms: OpenRequest['terms']
  deposit?: boolean
}): OpenRequest {
  const [b0, b1] = body.balances
  if (b0 === undefined || b1 === undefined) throw new ChanvmError('INVALID_ARGUMENT', 'balances needs two')
  return {
    app: body.app,
    counterparty: body.counterparty as Hex,
    role: body.role,
    balances: [wireToUint(b0, 'balances[0]'), wireToUint(b1, 'balances[1]')],
    nonce: wireToUint(body.nonce, 'nonce'),
    challengeDuration: wireToUint(body.challengeDuration, 'challengeDuration'),
    terms: body.terms,
    ...(body.deposit === undefined ? {} : { deposit: body.deposit }),
  }
}

/** The JSON body of `POST /v1/channels/:id/actions` as an {@link AppAction}: the app module checks its arguments. */
export function wireToAppAction(body: Record<string, unknown>): AppAction {
  return { ...body }
}

/** A JSON.stringify replacer: bigints as decimal strings, bytes as 0x hex. */
export function wireReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`
  return value
}

/** `value` as JSON text with bigints as decimal strings. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, wireReplacer)
}

type FjsSchema = Parameters<typeof fastJsonStringify>[0]
/** The `UpdateResult` serializer fast-json-stringify compiles from its schema. */
const compiledUpdateResult: (result: unknown) => string = fastJsonStringify(
  updateResultSchema as unknown as FjsSchema,
  { schema: { [stateSchema.$id]: stateSchema as unknown as FjsSchema } },
)

/**
 * The JSON of a co-signed action's answer (`UpdateResult`), by the serializer compiled from its
 * schema: the text toWireJson writes (bigints as decimal strings), in about half the time, since
 * it calls no replacer for every key. A field the schema does not name is left out. A result the
 * compiled serializer cannot write (a required field missing) goes out whole by {@link toWireJson}:
 * the step is co-signed, and an error here could make a client act again.
 */
export function updateResultJson(result: unknown): string {
  try {
    return compiledUpdateResult(result)
  } catch {
    return toWireJson(result)
  }
}

/** Each event's wire JSON, kept while the event is held (the log, the event streams and replays share it). */
const eventJson = new WeakMap<NodeEvent, string>()

/**
 * `toWireJson(event)`, computed once per event: an event is written to the log and to every event
 * stream, and replayed from the held ones. Events are not changed once emitted.
 */
export function nodeEventJson(event: NodeEvent): string {
  let json = eventJson.get(event)
  if (json === undefined) {
    json = toWireJson(event)
    eventJson.set(event, json)
  }
  return json
}
