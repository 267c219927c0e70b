// Request validation with ajv. App actions are checked here for their shape only; their arguments
// against the app's ABI types by the app module (node/actionToCalldata.ts), which names the argument.
import { Ajv } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * A fastify validator compiler: ajv without coercion, defaults or removal of unknown properties
 * (an unknown property is an error).
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  // verbose: errors carry the schema and the data, so a number sent for a decimal string is named.
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: false,
    useDefaults: false,
    strict: false,
    verbose: true,
  })
  return ({ schema }) => ajv.compile(schema as object)
}

/**
 * fastify's `schemaErrorFormatter`: the message fastify's own formatter makes (`body must have
 * required property 'action', ...`), on an error without a stack trace. The reply never shows a
 * stack (errorToReply), and capturing one cost about 10 us of each refused request.
 */
export function formatSchemaErrors(
  errors: readonly { instancePath?: string; message?: string }[],
  dataVar: string,
): Error {
  let text = ''
  for (const e of errors) text += `${text === '' ? '' : ', '}${dataVar}${e.instancePath ?? ''} ${e.message}`
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new Error(text)
  } finally {
    Error.stackTraceLimit = limit
  }
}
