// `chanvm node --config FILE`: runs a node as a daemon with its HTTP API (node/runNodeDaemon.ts).
import { parseArgs } from 'node:util'
import type { CliIo } from './commandIo.ts'

export const NODE_USAGE = `Usage: chanvm node --config FILE [--check]

Runs a chanvm node: one party with its SQLite store, MQTT transport, input sources, chain watcher
and the HTTP API (GET /openapi.json describes it). Prints one ready line on stdout, then JSON logs
on stderr. SIGTERM or Ctrl-C stops it cleanly (exit 0); a second signal exits at once.

Options:
  --config <file>   the node's JSON configuration (docs/config.md lists every setting)
  --check           check the configuration, the keystore and the API access, start nothing (exit 0 or 3)
  -h, --help        show this help

Environment: CHANVM_PASSPHRASE (the keystore's passphrase; prompted for on a terminal otherwise),
the API token in CHANVM_API_TOKEN or the variable the config's http.tokenEnv names.
Exit codes: 0 stopped by a signal, 2 usage error, 3 could not start (the data folder in use by another
node among the reasons), 4 stopped because another client took the MQTT client id over, 130
stopped while starting.`

/** Exit codes of `chanvm node` (docs/cli.md). */
export const NODE_EXIT = { OK: 0, USAGE: 2, FAILED: 3, TAKEN_OVER: 4 } as const

/**
 * Runs `chanvm node` with the arguments after `node`; resolves with the exit code once the node
 * has stopped (`signal` aborted) or failed. The daemon is loaded only when this command runs.
 */
export async function runNodeCommand(
  args: readonly string[],
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...args],
      allowPositionals: false,
      strict: true,
      options: {
        config: { type: 'string' },
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }))
  } catch (e) {
    io.err(`chanvm node: ${(e as Error).message}\n\n${NODE_USAGE}`)
    return NODE_EXIT.USAGE
  }
  if (values.help) {
    io.out(NODE_USAGE)
    return NODE_EXIT.OK
  }
  if (values.config === undefined || values.config === '') {
    io.err(`chanvm node: --config FILE is required\n\n${NODE_USAGE}`)
    return NODE_EXIT.USAGE
  }
  if (values.check) {
    const { checkNodeConfig } = await import('../../node/checkNodeConfig.ts')
    try {
      for (const line of await checkNodeConfig(values.config, process.env)) io.out(line)
      return NODE_EXIT.OK
    } catch (e) {
      const { ChanvmError } = await import('../../engine/errors.ts')
      const lines = e instanceof ChanvmError ? [e.shortMessage, ...e.details] : [(e as Error).message]
      io.err(`chanvm node: ${lines.join('\n  ')}`)
      return NODE_EXIT.FAILED
    }
  }
  const { runNodeDaemon } = await import('../../node/runNodeDaemon.ts')
  return runNodeDaemon({
    configPath: values.config,
    env: process.env,
    io,
    followParent: true,
    ...(signal === undefined ? {} : { signal }),
  })
}
