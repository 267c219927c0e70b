// Request validation with ajv, plus one validator for app actions that picks the variant by `app`
// and `type` first, so a client hears what is wrong with its action, not with all twelve.
import { Ajv, type ErrorObject } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'
import { APP_ACTION_VARIANTS, appActionSchema, appActionVariantSchema } from './schemas.ts'

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/**
 * A fastify validator compiler: ajv without coercion, defaults or removal of unknown properties
 * (an unknown property is an error). The app action schema gets a validator that finds the
 * variant by `app` and `type` and reports only that variant's errors.
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
  const variants = new Map(
    APP_ACTION_VARIANTS.map((v) => [`${v.app}/${v.type}`, ajv.compile(appActionVariantSchema(v))]),
  )
  const known = [...variants.keys()].join(', ')
  const validateAction: Validate = (data) => {
    const body = data as { app?: unknown; type?: unknown } | null
    const key =
      body !== null &&
      typeof body === 'object' &&
      typeof body.app === 'string' &&
      typeof body.type === 'string'
        ? `${body.app}/${body.type}`
        : ''
    const validate = variants.get(key)
    if (validate === undefined) {
      validateAction.errors = [
        {
          instancePath: '',
          schemaPath: '#/oneOf',
          keyword: 'oneOf',
          params: {},
          message: `must be an action with app and type one of ${known}`,
        },
      ]
      return false
    }
    const ok = validate(data)
    validateAction.errors = validate.errors ?? null
    return ok
  }
  const marker = appActionSchema['x-chanvm-validator']
  return ({ schema }) =>
    (schema as Record<string, unknown>)['x-chanvm-validator'] === marker
      ? validateAction
      : ajv.compile(schema as object)
}
