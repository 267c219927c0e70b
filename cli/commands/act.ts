// `chanvm act <channelId> <action> [flags]`: one typed step of the channel's app (POST .../actions).
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { toWire, type ActResult } from '../apiClient.ts'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import type { AppAction, AppName } from '../../node/types.ts'
import type { CliIo } from './commandIo.ts'
import { API_OPTIONS, API_USAGE, apiClientFor, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { formatWei, roleName } from './formatChannel.ts'
import { parseAmount } from './parseAmount.ts'
import { parseChannelId, parseHexBytes, parseTime } from './parseValues.ts'

export const ACT_USAGE = `Usage: chanvm act <channelId> <action> [flags] [options]

Takes one step of the channel's app: this node runs it, the counterparty re-runs and co-signs it.

escrow (payer = participant 0, payee = 1):
  fund --amount AMOUNT --deadline TIME   escrow AMOUNT (3eth, 2gwei, wei); refundable from TIME
                                         (unix seconds, an ISO date, or +1h from now)
  release                                the payer releases the escrow to the payee
  ruling --to-payee|--to-payer --arbiter-sig 0x..   settle with the arbiter's signed ruling
  refund                                 the payer takes the escrow back after the deadline
  close                                  final state; the channel can be concluded at once
tv-delivery (buyer = 0, seller = 1):
  pay | claim | refund | close           claim carries the oracle answers this node verified
cold-chain (owner = 0, insurer = 1):
  premium | report | close               report carries the readings this node verified
any app, a user's too (the node checks each argument against the app's ABI types):
  <action> --arg NAME=VALUE ...          integers in decimal, bytes and addresses as 0x hex,
                                         lists and tuples as JSON ('[1,2]', '{"a":1}')

Options:
  --app <name>           the channel's app; without it the node is asked (GET /v1/channels/:id)
${API_USAGE}

Exit codes: 0 co-signed, 1 refused (by the app, the counterparty or the node), 2 usage error,
3 node unreachable or failed.`

/** The flags of the built-in apps' actions that take them (any action takes `--arg`). */
const FLAGS_OF: Record<string, readonly string[]> = {
  fund: ['amount', 'deadline'],
  ruling: ['to-payee', 'to-payer', 'arbiter-sig'],
}

const ACTION_FLAGS = ['amount', 'deadline', 'to-payee', 'to-payer', 'arbiter-sig'] as const

/** What `chanvm act` sends and where. */
export type ActArgs = {
  channelId: Hex
  name: string
  /** `--app`, when given. */
  app?: AppName
  /** The action for the channel's app (its `app` field filled in). */
  action: (app: AppName) => AppAction
  target: ApiTarget
  json: boolean
}

/** The built-in apps with an action `name`. */
const appsWith = (name: string): AppName[] =>
  BUILT_IN_REGISTRY.list.filter((a) => a.actions.some((x) => x.name === name)).map((a) => a.name)
const actionsOf = (app: AppName): string[] => BUILT_IN_REGISTRY.byName(app)?.actions.map((a) => a.name) ?? []

/**
 * `--arg key=value` as a named argument: the value is JSON when it reads as a list, an object,
 * true, false or a JSON string, else the text itself (integers stay decimal strings).
 */
function parseArgFlag(text: string): [string, unknown] {
  const eq = text.indexOf('=')
  if (eq <= 0) throw usageError(`--arg takes key=value, got ${JSON.stringify(text)}`)
  const key = text.slice(0, eq)
  const raw = text.slice(eq + 1)
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) throw usageError(`--arg ${key}: not an argument name`)
  if (/^[[{"]/.test(raw) || raw === 'true' || raw === 'false') {
    try {
      return [key, JSON.parse(raw) as unknown]
    } catch {
      throw usageError(`--arg ${key}: ${raw} is not valid JSON`)
    }
  }
  return [key, raw]
}

/**
 * Parses `chanvm act`'s arguments; throws a usage error (`INVALID_ARGUMENT`) for bad ones.
 *
 * @example
 * ```ts
 * const a = parseActArgs([channelId, 'fund', '--amount', '3eth', '--deadline', '+1d'], process.env, Date.now())
 * ```
 */
export function parseActArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  nowMs: number,
): ActArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      ...API_OPTIONS,
      app: { type: 'string' },
      amount: { type: 'string' },
      deadline: { type: 'string' },
      'to-payee': { type: 'boolean' },
      'to-payer': { type: 'boolean' },
      'arbiter-sig': { type: 'string' },
      arg: { type: 'string', multiple: true },
    },
  })
  if (values.help) return { help: true }
  const [id, name, ...extra] = positionals
  const channelId = parseChannelId(id)
  if (name === undefined) throw usageError('an action is required, e.g. chanvm act <channelId> release')
  if (extra.length > 0) throw usageError(`unexpected argument '${extra[0]}'`)
  let app: AppName | undefined
  if (values.app !== undefined) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(values.app))
      throw usageError(`--app must be an app's name, got ${JSON.stringify(values.app)}`)
    app = values.app
  }
  const named = Object.fromEntries((values.arg ?? []).map(parseArgFlag))
  if ((values.arg ?? []).length !== Object.keys(named).length) throw usageError('an --arg is given twice')
  const builtIn = app === undefined || BUILT_IN_REGISTRY.byName(app) !== undefined
  // The built-in apps' actions are known here; a user's app's are the node's to check.
  const apps = app === undefined ? appsWith(name) : appsWith(name).filter((a) => a === app)
  if (builtIn && apps.length === 0 && (app !== undefined || (values.arg ?? []).length === 0))
    throw usageError(
      app === undefined
        ? `unknown action '${name}' (${BUILT_IN_REGISTRY.list.map((a) => `${a.name}: ${a.actions.map((x) => x.name).join(', ')}`).join('; ')}; another app's actions take --arg key=value)`
        : `${app} has no action '${name}' (it has ${actionsOf(app).join(', ')})`,
    )
  const takes = new Set<string>(FLAGS_OF[name] ?? [])
  for (const flag of ACTION_FLAGS)
    if (values[flag] !== undefined && !takes.has(flag)) throw usageError(`${name} does not take --${flag}`)

  let action: (app: AppName) => AppAction
  if (name === 'fund') {
    if (values.amount === undefined) throw usageError('fund needs --amount (3eth, 2gwei or wei)')
    if (values.deadline === undefined)
      throw usageError('fund needs --deadline (unix seconds, ISO date or +1h)')
    const amount = parseAmount(values.amount, '--amount')
    if (amount === 0n) throw usageError('--amount must be more than 0')
    const deadline = parseTime(values.deadline, '--deadline', nowMs)
    action = (a) => ({ app: a, type: 'fund', amount, deadline })
  } else if (name === 'ruling') {
    if ((values['to-payee'] === true) === (values['to-payer'] === true))
      throw usageError('ruling needs exactly one of --to-payee and --to-payer')
    if (values['arbiter-sig'] === undefined)
      throw usageError("ruling needs --arbiter-sig (the arbiter's 65-byte signature)")
    const arbiterSignature = parseHexBytes(values['arbiter-sig'], '--arbiter-sig', 65)
    const toPayee = values['to-payee'] === true
    action = (a) => ({ app: a, type: 'ruling', toPayee, arbiterSignature })
  } else if (values.arg !== undefined) action = (a) => ({ app: a, action: name, args: named })
  else action = (a) => ({ app: a, type: name })
  return {
    channelId,
    name,
    ...(app === undefined ? {} : { app }),
    action,
    target: apiTargetFromFlags(values, env),
    json: values.json,
  }
}

/**
 * The app `name` must run in, or a usage error naming what the channel's app offers.
 *
 * @example
 * ```ts
 * checkActionFor('tv-delivery', 'release', channelId) // throws: tv-delivery has no action 'release'
 * ```
 */
export function checkActionFor(app: AppName, name: string, channelId: Hex): void {
  if (BUILT_IN_REGISTRY.byName(app) !== undefined && !appsWith(name).includes(app))
    throw usageError(
      `channel ${channelId} runs ${app}, which has no action '${name}' (it has ${actionsOf(app).join(', ')})`,
    )
}

function describe(result: ActResult, app: AppName): string {
  const parts = [`co-signed version ${result.version ?? '?'}${result.isFinal === true ? ' (final)' : ''}`]
  if (result.balances !== undefined)
    parts.push(result.balances.map((b, i) => `${roleName(app, i)} ${formatWei(b)}`).join(', '))
  if (result.gasUsed !== undefined) parts.push(`${result.gasUsed} gas in the sandbox`)
  return parts.join(': ')
}

/**
 * Runs `chanvm act` with the arguments after `act`.
 *
 * @example
 * ```ts
 * await runActCommand([channelId, 'fund', '--amount', '3eth', '--deadline', '+1d'], io)
 * ```
 */
export async function runActCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'act',
    usage: ACT_USAGE,
    args,
    io,
    signal,
    parse: () => parseActArgs(args, io.env, io.now()),
    run: async (a) => {
      const api = apiClientFor(a.target, io, signal)
      const app = a.app ?? (await api.getChannel(a.channelId)).app
      checkActionFor(app, a.name, a.channelId)
      const action = a.action(app)
      const result = await api.act(a.channelId, action)
      if (a.json)
        io.out(JSON.stringify({ channelId: a.channelId, action: toWire(action), result: result.raw }))
      else if (result.ok) io.out(`${a.name}: ${describe(result, app)}`)
      else {
        const raw = result.raw as { reason?: unknown; message?: unknown }
        io.err(
          `chanvm act: ${a.name} was not co-signed: ${String(raw.reason ?? 'refused')}${typeof raw.message === 'string' ? `: ${raw.message}` : ''}`,
        )
      }
      return result.ok ? COMMAND_EXIT.OK : COMMAND_EXIT.REFUSED
    },
  })
}
