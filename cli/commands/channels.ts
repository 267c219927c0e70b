// `chanvm channels`: the node's channels, one line each (GET /v1/channels).
import { parseArgs } from 'node:util'
import { toWire } from '../apiClient.ts'
import type { ChannelSummary } from '../../node/types.ts'
import type { CliIo } from './commandIo.ts'
import { API_OPTIONS, API_USAGE, apiClientFor, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { formatOnChain, formatStatus, formatWei, roleName } from './formatChannel.ts'

export const CHANNELS_USAGE = `Usage: chanvm channels [options]

Lists the node's channels (cancelled opens left out): id, app, our role, status, latest co-signed
version, balances and the Adjudicator's record, the same words chanvm show <channelId> prints.

Options:
${API_USAGE}

Exit codes: 0 listed, 1 the node refused, 2 usage error, 3 node unreachable or failed.`

/**
 * Parses `chanvm channels`' arguments.
 *
 * @example
 * ```ts
 * parseChannelsArgs(['--json'], process.env) // { target: { url: 'http://127.0.0.1:7311' }, json: true }
 * ```
 */
export function parseChannelsArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { target: ApiTarget; json: boolean } | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: API_OPTIONS,
  })
  if (values.help) return { help: true }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`)
  return { target: apiTargetFromFlags(values, env), json: values.json }
}

/**
 * One line of the channel table.
 *
 * @example
 * ```ts
 * for (const c of await api.listChannels()) console.log(formatChannelRow(c))
 * ```
 */
export function formatChannelRow(c: ChannelSummary): string {
  const balances = c.balances.map((b, i) => `${roleName(c.app, i)} ${formatWei(b)}`).join(', ')
  const chain = c.onChain === undefined ? '' : `  on chain: ${formatOnChain(c.onChain)}`
  return `${c.channelId}  ${c.app.padEnd(11)} ${roleName(c.app, c.me).padEnd(7)} ${formatStatus(c).padEnd(9)} v${c.version}${c.isFinal ? ' final' : ''}  ${balances}${chain}`
}

/**
 * Runs `chanvm channels` with the arguments after `channels`.
 *
 * @example
 * ```ts
 * await runChannelsCommand(['--json'], { out: console.log, err: console.error })
 * ```
 */
export async function runChannelsCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'channels',
    usage: CHANNELS_USAGE,
    args,
    io,
    signal,
    parse: () => parseChannelsArgs(args, io.env),
    run: async ({ target, json }) => {
      const channels = await apiClientFor(target, io, signal).listChannels()
      if (json) io.out(JSON.stringify(toWire(channels)))
      else if (channels.length === 0) io.out('no channels')
      else for (const c of channels) io.out(formatChannelRow(c))
      return COMMAND_EXIT.OK
    },
  })
}
