// `chanvm open`: asks the node to open a channel with a counterparty (POST /v1/channels).
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { toWire } from '../apiClient.ts'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import type { AppName, OpenRequest } from '../../node/types.ts'
import type { CliIo } from '../runCli.ts'
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

export const OPEN_USAGE = `Usage: chanvm open --app <escrow|tv-delivery|cold-chain> --counterparty 0x.. --role first|second
                   --balances A,B --nonce N --challenge SECONDS [app terms] [options]

Asks the node to open a channel with the counterparty, who sends the same request to its own node.
Both co-sign version 0; then this node deposits its opening balance (unless --no-deposit).

  --app <name>           escrow, tv-delivery or cold-chain
  --counterparty <addr>  the other party's address
  --role first|second    first: payer, buyer, owner (participant 0); second: payee, seller, insurer
  --balances A,B         opening balances of participant 0 and 1: 5eth,0 or 0.5eth,2gwei or wei
  --nonce N              makes the channel id unique between the two parties; both pick the same
  --challenge SECONDS    the challenge period (3600, 90s, 15m, 1h, 7d)
  --no-deposit           do not deposit this node's opening balance now

Terms, escrow:
  --arbiter <addr>       whose signed ruling settles a funded escrow (required)
Terms, tv-delivery:
  --price AMOUNT         the price of the goods
  --oracles ID,ID,..     the oracles' signer ids (bytes32, chanvm device keygen prints them)
  --quorum K             how many oracles must answer "delivered"
  --deadline-block N     block from which the buyer may take a refund
  --tracking-id TEXT     the carrier's tracking id the oracles answer about
Terms, cold-chain:
  --device ID            the thermometer's signer id (bytes32)
  --min-value=MC --max-value=MC   the allowed range, milli-degrees Celsius (use = for negatives)
  --run-length N         consecutive readings outside the range that pay out
  --premium AMOUNT       premium per period
  --insured-sum AMOUNT   paid to the owner on an excursion
  --period SECONDS       length of one period (1h, 1d)
  --max-periods N        periods the policy can cover
  --claim-window SECONDS time after coverage during which the insurer may not close

Options:
${API_USAGE}

Exit codes: 0 opened, 1 the node refused, 2 usage error, 3 node unreachable or failed.`

const TERM_FLAGS = {
  arbiter: 'escrow',
  price: 'tv-delivery',
  oracles: 'tv-delivery',
  quorum: 'tv-delivery',
  'deadline-block': 'tv-delivery',
  'tracking-id': 'tv-delivery',
  device: 'cold-chain',
  'min-value': 'cold-chain',
  'max-value': 'cold-chain',
  'run-length': 'cold-chain',
  premium: 'cold-chain',
  'insured-sum': 'cold-chain',
  period: 'cold-chain',
  'max-periods': 'cold-chain',
  'claim-window': 'cold-chain',
} as const satisfies Record<string, AppName>

const termOptions = Object.fromEntries(
  Object.keys(TERM_FLAGS).map((k) => [k, { type: 'string' as const }]),
) as { [K in keyof typeof TERM_FLAGS]: { type: 'string' } }

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const UINT64_MAX = (1n << 64n) - 1n

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
  for (const [flag, owner] of Object.entries(TERM_FLAGS))
    if (values[flag as keyof typeof TERM_FLAGS] !== undefined && owner !== app)
      throw usageError(`--${flag} is a term of ${owner}, not of ${app}`)
  // A user's app (or any app, with --term) takes its terms as --term NAME=VALUE; the node checks them.
  const generic = values.term !== undefined || BUILT_IN_REGISTRY.byName(app) === undefined
  const terms = generic ? termFlags(values.term ?? []) : termsOf(app, values, need)
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

function termsOf(
  app: AppName,
  v: { [K in keyof typeof TERM_FLAGS]?: string | undefined },
  need: (name: string, v: string | undefined) => string,
): OpenRequest['terms'] {
  if (app === 'escrow') return { arbiter: parseAddress(need('arbiter', v.arbiter), '--arbiter') }
  if (app === 'tv-delivery') {
    const oracles = parseList(need('oracles', v.oracles)).map((o) => parseHexBytes(o, '--oracles', 32))
    if (new Set(oracles).size !== oracles.length) throw usageError('--oracles lists an oracle twice')
    if (oracles.length > 32) throw usageError('--oracles takes at most 32 oracles')
    const quorum = parseWhole(need('quorum', v.quorum), '--quorum', 1n, BigInt(Math.max(1, oracles.length)))
    const trackingId = need('tracking-id', v['tracking-id'])
    if (Buffer.byteLength(trackingId) > 128) throw usageError('--tracking-id is longer than 128 bytes')
    const price = parseAmount(need('price', v.price), '--price')
    if (price === 0n) throw usageError('--price must be more than 0')
    return {
      price: price.toString(),
      oracles,
      quorum: Number(quorum),
      deadline: parseWhole(
        need('deadline-block', v['deadline-block']),
        '--deadline-block',
        0n,
        UINT64_MAX,
      ).toString(),
      trackingId,
    }
  }
  const minValue = parseInteger(need('min-value', v['min-value']), '--min-value', INT64_MIN, INT64_MAX)
  const maxValue = parseInteger(need('max-value', v['max-value']), '--max-value', INT64_MIN, INT64_MAX)
  if (minValue > maxValue) throw usageError('--min-value must not be above --max-value')
  const insuredSum = parseAmount(need('insured-sum', v['insured-sum']), '--insured-sum')
  if (insuredSum === 0n) throw usageError('--insured-sum must be more than 0')
  return {
    device: parseHexBytes(need('device', v.device), '--device', 32) as Hex,
    minValue: minValue.toString(),
    maxValue: maxValue.toString(),
    runLength: Number(parseWhole(need('run-length', v['run-length']), '--run-length', 1n, 65_535n)),
    premium: parseAmount(need('premium', v.premium), '--premium').toString(),
    insuredSum: insuredSum.toString(),
    periodSeconds: parseDuration(need('period', v.period), '--period', 1n).toString(),
    maxPeriods: parseWhole(need('max-periods', v['max-periods']), '--max-periods', 1n, UINT64_MAX).toString(),
    claimWindow: parseDuration(v['claim-window'] ?? '0', '--claim-window').toString(),
  }
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
