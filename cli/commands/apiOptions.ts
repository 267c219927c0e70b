// The flags every command that talks to a node shares: where the node is, its token, --json.
import { createApiClient, type ApiClient } from '../apiClient.ts'
import { usageError, type CommandIo } from './commandIo.ts'
import { parseWhole } from './parseValues.ts'

/** parseArgs options shared by the node commands. */
export const API_OPTIONS = {
  api: { type: 'string' },
  'token-env': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

/** The usage lines of {@link API_OPTIONS}. */
export const API_USAGE = `  --api <url>          the node's HTTP API (default $CHANVM_API_URL, else http://127.0.0.1:7311)
  --token-env <name>   environment variable holding the API token (default CHANVM_API_TOKEN, if set)
  --timeout <seconds>  how long one request may take (default 120; open waits for the counterparty)
  --json               print one JSON document (bigints as decimal strings)
  -h, --help           show this help`

/** The default address of a node's API (node/types.ts `http.port`). */
export const DEFAULT_API_URL = 'http://127.0.0.1:7311'

/** Where the node is and how to authenticate. */
export type ApiTarget = { url: string; token?: string; timeoutMs?: number }

/**
 * The node's URL and token from `--api`, `--token-env` and the environment; usage errors for bad ones.
 *
 * @example
 * ```ts
 * const target = apiTargetFromFlags({ api: 'http://127.0.0.1:7311', 'token-env': 'MY_TOKEN' }, process.env)
 * ```
 */
export function apiTargetFromFlags(
  values: { api?: string | undefined; 'token-env'?: string | undefined; timeout?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): ApiTarget {
  const target = apiEndpoint(values, env)
  if (values.timeout === undefined) return target
  return { ...target, timeoutMs: Number(parseWhole(values.timeout, '--timeout', 1n, 86_400n)) * 1000 }
}

function apiEndpoint(
  values: { api?: string | undefined; 'token-env'?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): ApiTarget {
  const url = values.api ?? (env['CHANVM_API_URL'] || DEFAULT_API_URL)
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw usageError(`--api needs an http:// or https:// URL, got ${JSON.stringify(url)}`)
  const tokenEnv = values['token-env']
  if (tokenEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv))
      throw usageError(
        `--token-env takes the name of an environment variable, got ${JSON.stringify(tokenEnv)}`,
      )
    const token = env[tokenEnv]
    if (token === undefined || token === '') throw usageError(`--token-env: ${tokenEnv} is not set`)
    return { url, token }
  }
  const token = env['CHANVM_API_TOKEN']
  return token === undefined || token === '' ? { url } : { url, token }
}

/**
 * The API client for a command.
 *
 * @example
 * ```ts
 * const api = apiClientFor({ url: 'http://127.0.0.1:7311' }, commandIoFromProcess(cli))
 * ```
 */
export function apiClientFor(target: ApiTarget, io: CommandIo, signal?: AbortSignal): ApiClient {
  return createApiClient({
    url: target.url,
    fetch: io.fetch,
    ...(target.timeoutMs === undefined ? {} : { timeoutMs: target.timeoutMs }),
    ...(target.token === undefined ? {} : { token: target.token }),
    ...(signal === undefined ? {} : { signal }),
  })
}
