// Entry point of the `chanvm` command (loaded by cli/bin.mjs). Everything testable is in runCli.ts.
import { EXIT, runCli } from './runCli.ts'

const controller = new AbortController()
let interrupts = 0
const onSignal = (): void => {
  interrupts++
  if (interrupts > 1) process.exit(EXIT.INTERRUPTED) // a second Ctrl-C: stop waiting for clean-up
  controller.abort()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

const code = await runCli(
  process.argv.slice(2),
  { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
  controller.signal,
)
process.off('SIGINT', onSignal)
process.off('SIGTERM', onSignal)
process.exitCode = code
// Everything the demo started is stopped by now; do not let a stray handle keep the command alive.
setTimeout(() => process.exit(code), 1_000).unref()
