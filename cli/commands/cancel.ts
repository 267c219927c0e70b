// `chanvm cancel <channelId>`: cancels an open that never completed (POST /v1/channels/:id/cancel).
import { toWire } from '../apiClient.ts'
import type { CliIo } from './commandIo.ts'
import { API_USAGE, apiClientFor } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, type CommandIo } from './commandIo.ts'
import { formatChannelLines } from './formatChannel.ts'
import { parseChannelIdArgs } from './parseChannelIdArgs.ts'

export const CANCEL_USAGE = `Usage: chanvm cancel <channelId> [options]

Cancels an open that never completed: the counterparty never co-signed version 0 and nothing is
deposited for the channel. The node then never deposits into it, leaves it out of chanvm channels,
and refuses to open it again (open with another nonce). An open that completed, or a channel with
a deposit, is refused (NOT_CANCELLABLE): settle it with chanvm dispute instead.

Options:
${API_USAGE}

Exit codes: 0 cancelled, 1 the node refused (NOT_CANCELLABLE, CHANNEL_NOT_FOUND), 2 usage error, 3 node unreachable or failed.`

/**
 * Runs `chanvm cancel` with the arguments after `cancel`.
 *
 * @example
 * ```ts
 * await runCancelCommand([channelId], { out: console.log, err: console.error })
 * ```
 */
export async function runCancelCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'cancel',
    usage: CANCEL_USAGE,
    args,
    io,
    signal,
    parse: () => parseChannelIdArgs(args, io.env),
    run: async ({ channelId, target, json }) => {
      const channel = await apiClientFor(target, io, signal).cancelOpen(channelId)
      if (json) io.out(JSON.stringify(toWire(channel)))
      else for (const line of formatChannelLines(channel)) io.out(line)
      return COMMAND_EXIT.OK
    },
  })
}
