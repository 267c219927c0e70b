// `chanvm show <channelId>`: one channel in full (GET /v1/channels/:id).
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { toWire } from '../apiClient.ts'
import type { CliIo } from '../runCli.ts'
import { API_OPTIONS, API_USAGE, apiClientFor, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { formatChannelLines } from './formatChannel.ts'
import { parseChannelId } from './parseValues.ts'

export const SHOW_USAGE = `Usage: chanvm show <channelId> [options]

Prints one channel: app, participants and our role, phase, the latest co-signed version and its
balances, and what the Adjudicator holds for it.

Options:
${API_USAGE}

Exit codes: 0 shown, 1 the node refused (e.g. CHANNEL_NOT_FOUND), 2 usage error, 3 node unreachable or failed.`

/**
 * Parses `chanvm show`'s arguments.
 *
 * @example
 * ```ts
 * parseShowArgs([channelId, '--json'], process.env)
 * ```
 */
export function parseShowArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { channelId: Hex; target: ApiTarget; json: boolean } | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: API_OPTIONS,
  })
  if (values.help) return { help: true }
  if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`)
  return {
    channelId: parseChannelId(positionals[0]),
    target: apiTargetFromFlags(values, env),
    json: values.json,
  }
}

/**
 * Runs `chanvm show` with the arguments after `show`.
 *
 * @example
 * ```ts
 * await runShowCommand([channelId], { out: console.log, err: console.error })
 * ```
 */
export async function runShowCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'show',
    usage: SHOW_USAGE,
    args,
    io,
    signal,
    parse: () => parseShowArgs(args, io.env),
    run: async ({ channelId, target, json }) => {
      const channel = await apiClientFor(target, io, signal).getChannel(channelId)
      if (json) io.out(JSON.stringify(toWire(channel)))
      else for (const line of formatChannelLines(channel)) io.out(line)
      return COMMAND_EXIT.OK
    },
  })
}
