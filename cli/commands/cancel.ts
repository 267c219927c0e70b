// `chanvm cancel <channelId>`: cancels an open that never completed (POST /v1/channels/:id/cancel).
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { toWire } from '../apiClient.ts'
import type { CliIo } from '../runCli.ts'
import { API_OPTIONS, API_USAGE, apiClientFor, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { formatChannelLines } from './formatChannel.ts'
import { parseChannelId } from './parseValues.ts'

export const CANCEL_USAGE = `Usage: chanvm cancel <channelId> [options]

Cancels an open that never completed: the counterparty never co-signed version 0 and nothing is
deposited for the channel. The node then never deposits into it, leaves it out of chanvm channels,
and refuses to open it again (open with another nonce). An open that completed, or a channel with
a deposit, is refused (NOT_CANCELLABLE): settle it with chanvm dispute instead.

Options:
${API_USAGE}

Exit codes: 0 cancelled, 1 the node refused (NOT_CANCELLABLE, CHANNEL_NOT_FOUND), 2 usage error, 3 node unreachable or failed.`

/**
 * Parses `chanvm cancel`'s arguments.
 *
 * @example
 * ```ts
 * parseCancelArgs([channelId, '--json'], process.env)
 * ```
 */
export function parseCancelArgs(
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
    parse: () => parseCancelArgs(args, io.env),
    run: async ({ channelId, target, json }) => {
      const channel = await apiClientFor(target, io, signal).cancelOpen(channelId)
      if (json) io.out(JSON.stringify(toWire(channel)))
      else for (const line of formatChannelLines(channel)) io.out(line)
      return COMMAND_EXIT.OK
    },
  })
}
