// `chanvm show <channelId>`: one channel in full (GET /v1/channels/:id).
import { toWire } from '../apiClient.ts'
import type { CliIo } from './commandIo.ts'
import { API_USAGE, apiClientFor } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, type CommandIo } from './commandIo.ts'
import { formatChannelLines } from './formatChannel.ts'
import { parseChannelIdArgs } from './parseChannelIdArgs.ts'

export const SHOW_USAGE = `Usage: chanvm show <channelId> [options]

Prints one channel: app, participants and our role, phase, the latest co-signed version and its
balances, and what the Adjudicator holds for it.

Options:
${API_USAGE}

Exit codes: 0 shown, 1 the node refused (e.g. CHANNEL_NOT_FOUND), 2 usage error, 3 node unreachable or failed.`

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
    parse: () => parseChannelIdArgs(args, io.env),
    run: async ({ channelId, target, json }) => {
      const channel = await apiClientFor(target, io, signal).getChannel(channelId)
      if (json) io.out(JSON.stringify(toWire(channel)))
      else for (const line of formatChannelLines(channel)) io.out(line)
      return COMMAND_EXIT.OK
    },
  })
}
