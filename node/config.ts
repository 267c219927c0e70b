// The node's configuration file: JSON, checked against a JSON Schema (ajv, strict, no unknown
// fields) before anything starts, relative paths taken from the file's folder.
import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { ChanvmError } from '../engine/errors.ts'
import type { NodeConfig } from './types.ts'

const address = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const
const bytes32 = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } as const
const text = { type: 'string', minLength: 1, maxLength: 4096 } as const
const envName = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 128 } as const
const url = (schemes: string) =>
  ({ type: 'string', pattern: `^(${schemes})://[^\\s]+$`, maxLength: 2048 }) as const

/** The JSON Schema of {@link NodeConfig}: every object closed (`additionalProperties: false`). */
export const nodeConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['dataDir', 'keystore', 'chain', 'broker'],
  properties: {
    dataDir: text,
    keystore: text,
    chain: {
      type: 'object',
      additionalProperties: false,
      required: ['rpcUrl', 'chainId', 'adjudicator'],
      properties: {
        rpcUrl: url('http|https'),
        chainId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
        adjudicator: address,
        confirmations: { type: 'integer', minimum: 0, maximum: 1000 },
        pollingIntervalMs: { type: 'integer', minimum: 10, maximum: 600_000 },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        apps: {
          type: 'object',
          maxProperties: 256,
          propertyNames: { pattern: '^[a-z][a-z0-9-]{0,31}$' },
          additionalProperties: address,
        },
      },
    },
    broker: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: url('mqtt|mqtts|ws|wss|tcp|tls'),
        clientId: { type: 'string', minLength: 1, maxLength: 128 },
        username: { type: 'string', minLength: 1, maxLength: 256 },
        passwordEnv: envName,
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1, maxLength: 255 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        tokenEnv: envName,
      },
    },
    apps: { type: 'array', maxItems: 64, items: text },
    inputs: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['topic', 'signers'],
        properties: {
          topic: { type: 'string', minLength: 1, maxLength: 512 },
          signers: { type: 'array', minItems: 1, maxItems: 1024, items: bytes32 },
          verifyThreads: { type: 'integer', minimum: 1, maximum: 64 },
        },
      },
    },
    responseTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
    messagesPerTurn: { type: 'integer', minimum: 1, maximum: 4096 },
    logLevel: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] },
  },
} as const

let validate: ReturnType<Ajv['compile']> | undefined

/** The field an ajv error is about, as a dotted path (`chain.rpcUrl`, `inputs[0].signers[1]`). */
function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  const missing =
    e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined
  const extra =
    e.keyword === 'additionalProperties'
      ? (e.params as { additionalProperty: string }).additionalProperty
      : undefined
  const all = [...parts, ...(missing === undefined ? [] : [missing]), ...(extra === undefined ? [] : [extra])]
  let out = ''
  for (const p of all) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`
  return out === '' ? '(top level)' : out
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known field'
  if (e.instancePath.endsWith('/verifyThreads')) return 'must be a whole number of threads from 1 to 64'
  if (e.instancePath === '/messagesPerTurn') return 'must be a whole number of messages from 1 to 4096'
  if (e.keyword === 'required') return 'is missing'
  if (e.keyword === 'pattern') {
    const p = (e.params as { pattern: string }).pattern
    if (p.includes('{40}')) return 'must be an address (0x and 40 hex digits)'
    if (p.includes('{64}')) return 'must be 32 bytes of hex (0x and 64 hex digits)'
    if (p.includes('://')) return `must be a URL (${p.slice(2, p.indexOf(')'))})`
    return 'must be an environment variable name'
  }
  return e.message ?? 'is not valid'
}

/**
 * Checks a parsed configuration against {@link nodeConfigSchema} and returns it typed. Paths stay
 * as they are (see {@link loadNodeConfig}). A bad field is a `CONFIG` error that names it.
 *
 * @example
 * ```ts
 * const config = parseNodeConfig(JSON.parse(text), 'node.json')
 * ```
 */
export function parseNodeConfig(value: unknown, source = 'the configuration'): NodeConfig {
  validate ??= new Ajv({ strict: true, allErrors: true }).compile(nodeConfigSchema)
  if (!validate(value)) {
    const errors = validate.errors ?? []
    const lines = errors.map((e) => `${fieldOf(e)} ${describe(e)}`)
    const first = lines[0] ?? 'is not valid'
    throw new ChanvmError('CONFIG', `${source}: ${first}`, { details: lines.slice(1) })
  }
  return value as NodeConfig
}

/**
 * Reads a node's configuration file (JSON), checks it against the schema, and resolves `dataDir`,
 * `keystore` and the app manifests against the file's folder when they are relative. A missing file, bad JSON or a
 * bad field is a `CONFIG` error naming the file and the field.
 *
 * @example
 * ```ts
 * const config = await loadNodeConfig('./alice/node.json')
 * const signer = await readKeystore(config.keystore, await passphraseFromEnvOrPrompt())
 * ```
 */
export async function loadNodeConfig(path: string): Promise<NodeConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new ChanvmError('CONFIG', `cannot read the configuration file ${path}`, { cause })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    throw new ChanvmError('CONFIG', `${path} is not JSON: ${why}`, { cause })
  }
  const config = parseNodeConfig(value, path)
  const base = dirname(resolve(path))
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p))
  return {
    ...config,
    dataDir: at(config.dataDir),
    keystore: at(config.keystore),
    ...(config.apps === undefined ? {} : { apps: config.apps.map(at) }),
  }
}
