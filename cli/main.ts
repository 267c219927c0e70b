// Entry point of the `chanvm` command (loaded by cli/bin.mjs). Everything testable is in runCli.ts.
// A subcommand loads only its own module (cli/commandLoaders.ts); the demos and the help load
// runCli.ts, which loads every demo.
import { COMMAND_LOADERS } from './commandLoaders.ts'
import type { CliCommand, CliIo } from './commands/commandIo.ts'

const controller = new AbortController()
let interrupts = 0
const onSignal = (): void => {
  interrupts++
  if (interrupts > 1) process.exit(130) // a second Ctrl-C: stop waiting for clean-up (EXIT.INTERRUPTED)
  controller.abort()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

const argv = process.argv.slice(2)
const io: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }
const name = argv[0]
const load = name !== undefined && Object.hasOwn(COMMAND_LOADERS, name) ? COMMAND_LOADERS[name] : undefined
const run: CliCommand =
  load === undefined
    ? async (args, cliIo, signal) => (await import('./runCli.ts')).runCli(args, cliIo, signal)
    : async (args, cliIo, signal) => (await load())(args.slice(1), cliIo, signal)
const code = await run(argv, io, controller.signal)
process.off('SIGINT', onSignal)
process.off('SIGTERM', onSignal)
process.exitCode = code
// Everything the demo started is stopped by now; do not let a stray handle keep the command alive.
setTimeout(() => process.exit(code), 1_000).unref()
