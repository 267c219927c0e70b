// `chanvm open`: asks the node to open a channel with a counterparty (POST /v1/channels).
import { parseArgs } from 'node:util'
import { toWire } from '../apiClient.ts'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import type { TermFlag } from '../../apps/types.ts'
import type { AppName, OpenRequest } from '../../node/types.ts'
import type { CliIo } from './commandIo.ts'
import { API_OPTIONS, API_USAGE, apiClientFor, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { formatChannelLines } from './formatChannel.ts'
import { parseAmount } from './parseAmount.ts'
import {
  parseAddress,
  parseDuration,
  parseHexBytes,
  parseInteger,
  parseList,
  parseWhole,
} from './parseValues.ts'

const APPS = BUILT_IN_REGISTRY.list
const UINT256_MAX = (1n << 256n) - 1n

/** Every built-in app's term flag, with the apps that take it. */
const TERM_FLAG_APPS = new Map<string, AppName[]>()
for (const app of APPS)
  for (const f of app.termFlags ?? [])
    TERM_FLAG_APPS.set(f.flag, [...(TERM_FLAG_APPS.get(f.flag) ?? []), app.name])

/** `  --flag VALUE` then the help, in two columns. */
const helpLine = (left: string, help: string) => `  ${left.padEnd(21)}  ${help}`

const termsUsage = APPS.filter((a) => (a.termFlags ?? []).length > 0)
  .map((a) =>
    [
      `Terms, ${a.name}:`,
      ...(a.termFlags ?? []).map((f) =>
        helpLine(
          `--${f.flag}${f.value.startsWith('=') ? '' : ' '}${f.value}`,
          f.default === undefined ? f.help : `${f.help} (default ${f.default})`,
        ),
      ),
    ].join('\n'),
  )
  .join('\n')

export const OPEN_USAGE = `Usage: chanvm open --app <${APPS.map((a) => a.name).join('|')}> --counterparty 0x.. --role first|second
                   --balances A,B --nonce N --challenge SECONDS [app terms] [options]

Asks the node to open a channel with the counterparty, who sends the same request to its own node.
Both co-sign version 0; then this node deposits its opening balance (unless --no-deposit).

  --app <name>           ${APPS.map((a) => a.name).join(', ')}, or an app the node's configuration adds
  --counterparty <addr>  the other party's address
  --role first|second    first: ${APPS.map((a) => a.roles[0]).join(', ')} (participant 0); second: ${APPS.map((a) => a.roles[1]).join(', ')}
  --balances A,B         opening balances of participant 0 and 1: 5eth,0 or 0.5eth,2gwei or wei
  --nonce N              makes the channel id unique between the two parties; both pick the same
  --challenge SECONDS    the challenge period (3600, 90s, 15m, 1h, 7d)
  --no-deposit           do not deposit this node's opening balance now
  --term NAME=VALUE      a term by its name, for any app (JSON for lists and objects); repeat per term

${termsUsage}

Options:
${API_USAGE}

Exit codes: 0 opened, 1 the node refused, 2 usage error, 3 node unreachable or failed.`

const termOptions = Object.fromEntries(
  [...TERM_FLAG_APPS.keys()].map((k) => [k, { type: 'string' as const }]),
)

/** What `chanvm open` sends and where. */
export type OpenArgs = { request: OpenRequest; target: ApiTarget; json: boolean }

/**
 * Parses `chanvm open`'s arguments; throws a usage error (`INVALID_ARGUMENT`) for bad ones.
 *
 * @example
 * ```ts
 * const { request } = parseOpenArgs(['--app', 'escrow', '--counterparty', bob, '--role', 'first',
 *   '--balances', '5eth,0', '--nonce', '1', '--challenge', '1h', '--arbiter', arbiter], process.env)
 * ```
 */
export function parseOpenArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OpenArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    allowNegative: true,
    options: {
      ...API_OPTIONS,
      app: { type: 'string' },
      counterparty: { type: 'string' },
      role: { type: 'string' },
      balances: { type: 'string' },
      nonce: { type: 'string' },
      challenge: { type: 'string' },
      deposit: { type: 'boolean', default: true },
      term: { type: 'string', multiple: true },
      ...termOptions,
    },
  })
  if (values.help) return { help: true }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`)
  const need = (name: string, v: string | undefined): string => {
    if (v === undefined || v === '') throw usageError(`--${name} is required`)
    return v
  }
  const app = need('app', values.app)
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(app))
    throw usageError(
      `--app must be an app's name (${BUILT_IN_REGISTRY.names.join(', ')} or one the node's configuration adds), got ${JSON.stringify(app)}`,
    )
  const counterparty = parseAddress(need('counterparty', values.counterparty), '--counterparty')
  const role = need('role', values.role)
  if (role !== 'first' && role !== 'second')
    throw usageError(`--role must be first or second, got ${JSON.stringify(role)}`)
  const parts = need('balances', values.balances).split(',')
  if (parts.length !== 2) throw usageError('--balances takes two amounts, participant 0 and 1: 5eth,5eth')
  const balances: [bigint, bigint] = [
    parseAmount(parts[0] ?? '', '--balances (participant 0)'),
    parseAmount(parts[1] ?? '', '--balances (participant 1)'),
  ]
  const nonce = parseWhole(need('nonce', values.nonce), '--nonce')
  const challengeDuration = parseDuration(need('challenge', values.challenge), '--challenge', 1n)
  const flagValues = values as Readonly<Record<string, unknown>>
  const module = BUILT_IN_REGISTRY.byName(app)
  for (const [flag, owners] of TERM_FLAG_APPS)
    if (flagValues[flag] !== undefined && !owners.includes(app))
      throw usageError(`--${flag} is a term of ${owners.join(', ')}, not of ${app}`)
  // A user's app (or any app, with --term) takes its terms as --term NAME=VALUE; the node checks them.
  const flags = module?.termFlags
  const terms =
    values.term !== undefined || flags === undefined
      ? termFlags(values.term ?? [])
      : termsFromFlags(flags, (flag) => flagValues[flag] as string | undefined)
  const request: OpenRequest = {
    app,
    counterparty,
    role,
    balances,
    nonce,
    challengeDuration,
    terms,
  }
  if (!values.deposit) request.deposit = false
  return { request, target: apiTargetFromFlags(values, env), json: values.json }
}

/** `--term key=value` flags as terms: JSON for lists, objects, true and false, else the text. */
function termFlags(flags: readonly string[]): OpenRequest['terms'] {
  const terms: OpenRequest['terms'] = {}
  for (const text of flags) {
    const eq = text.indexOf('=')
    const key = text.slice(0, eq)
    if (eq <= 0 || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key))
      throw usageError(`--term takes name=value, got ${JSON.stringify(text)}`)
    if (Object.hasOwn(terms, key)) throw usageError(`--term ${key} is given twice`)
    const raw = text.slice(eq + 1)
    if (/^[[{"]/.test(raw) || raw === 'true' || raw === 'false') {
      try {
        terms[key] = JSON.parse(raw) as OpenRequest['terms'][string]
      } catch {
        throw usageError(`--term ${key}: ${raw} is not valid JSON`)
      }
    } else terms[key] = raw
  }
  return terms
}

/** The terms an app's flags give (see `TermFlag`), each read as its kind says. */
function termsFromFlags(
  flags: readonly TermFlag[],
  given: (flag: string) => string | undefined,
): OpenRequest['terms'] {
  const terms: OpenRequest['terms'] = {}
  const read = new Map<string, bigint | readonly string[]>()
  const big = (v: string | undefined, fallback: bigint) => (v === undefined ? fallback : BigInt(v))
  for (const f of flags) {
    const what = `--${f.flag}`
    const text = given(f.flag) ?? f.default
    if (text === undefined || text === '') throw usageError(`${what} is required`)
    const min = big(f.min, 0n)
    let value: bigint | readonly string[] | string
    switch (f.kind) {
      case 'address':
        value = parseAddress(text, what)
        break
      case 'amount':
        value = parseAmount(text, what)
        if (value < min)
          throw usageError(min === 1n ? `${what} must be more than 0` : `${what} must be at least ${min}`)
        break
      case 'duration':
        value = parseDuration(text, what, min)
        break
      case 'whole': {
        const of = f.atMostCountOf === undefined ? undefined : read.get(f.atMostCountOf)
        const max = Array.isArray(of) ? BigInt(Math.max(1, of.length)) : big(f.max, UINT256_MAX)
        value = parseWhole(text, what, min, max)
        break
      }
      case 'integer':
        value = parseInteger(text, what, big(f.min, -UINT256_MAX), big(f.max, UINT256_MAX))
        break
      case 'bytes32':
        value = parseHexBytes(text, what, 32)
        break
      case 'bytes32-list': {
        const list = parseList(text).map((o) => parseHexBytes(o, what, 32))
        const twice = list.find((o, i) => list.indexOf(o) !== i)
        if (twice !== undefined) throw usageError(`${what} lists ${twice} twice`)
        if (f.maxLength !== undefined && list.length > f.maxLength)
          throw usageError(`${what} takes at most ${f.maxLength} values`)
        value = list
        break
      }
      case 'text':
        if (f.maxLength !== undefined && Buffer.byteLength(text) > f.maxLength)
          throw usageError(`${what} is longer than ${f.maxLength} bytes`)
        value = text
        break
    }
    if (typeof value === 'bigint') read.set(f.flag, value)
    else if (Array.isArray(value)) read.set(f.flag, value)
    terms[f.term] =
      typeof value === 'bigint'
        ? f.number === true
          ? Number(value)
          : value.toString()
        : (value as string | string[])
  }
  for (const f of flags) {
    const low = read.get(f.flag)
    const high = f.notAbove === undefined ? undefined : read.get(f.notAbove)
    if (typeof low === 'bigint' && typeof high === 'bigint' && low > high)
      throw usageError(`--${f.flag} must not be above --${f.notAbove}`)
  }
  return terms
}

/**
 * Runs `chanvm open` with the arguments after `open`.
 *
 * @example
 * ```ts
 * const code = await runOpenCommand(['--app', 'escrow', '--counterparty', bob, '--role', 'first',
 *   '--balances', '5eth,0', '--nonce', '1', '--challenge', '1h'], { out: console.log, err: console.error })
 * ```
 */
export async function runOpenCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'open',
    usage: OPEN_USAGE,
    args,
    io,
    signal,
    parse: () => parseOpenArgs(args, io.env),
    run: async ({ request, target, json }) => {
      const channel = await apiClientFor(target, io, signal).openChannel(request)
      if (json) io.out(JSON.stringify(toWire(channel)))
      else for (const line of ['opened', ...formatChannelLines(channel)]) io.out(line)
      return COMMAND_EXIT.OK
    },
  })
}
