// The arguments of a command that names one channel and talks to a node: `<channelId>` and the
// API options (shared by `show` and `cancel`).
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { API_OPTIONS, apiTargetFromFlags, type ApiTarget } from './apiOptions.ts'
import { usageError } from './commandIo.ts'
import { parseChannelId } from './parseValues.ts'

/**
 * Parses `<channelId> [API options]`: the channel id, where the node is, and `--json`; `{ help:
 * true }` for `--help`. A second positional argument or an unknown flag is a usage error.
 *
 * @example
 * ```ts
 * parseChannelIdArgs([channelId, '--json'], process.env)
 * ```
 */
export function parseChannelIdArgs(
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
