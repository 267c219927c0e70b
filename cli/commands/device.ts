// `chanvm device <keygen|publish>`: the tools a device (or a person standing in for one) runs; no node needed.
import type { CliIo } from './commandIo.ts'
import { COMMAND_EXIT, commandIoFromProcess, type CommandIo } from './commandIo.ts'
import { runDeviceKeygenCommand } from './deviceKeygen.ts'
import { runDevicePublishCommand } from './devicePublish.ts'

export const DEVICE_USAGE = `Usage: chanvm device keygen --out FILE [--curve p256|secp256k1] [--json]
       chanvm device publish --key FILE --broker URL --chain-id N [--csv FILE] [options] < readings

  keygen    creates a device key file (mode 0600) and prints its signer id
  publish   signs readings from standard input and publishes them over MQTT at QoS 1

chanvm device <keygen|publish> --help shows each one's options.`

/**
 * Runs `chanvm device` with the arguments after `device`.
 *
 * @example
 * ```ts
 * await runDeviceCommand(['keygen', '--out', 'thermometer.key'], { out: console.log, err: console.error })
 * ```
 */
export async function runDeviceCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'keygen') return runDeviceKeygenCommand(rest, cli, signal, io)
  if (sub === 'publish') return runDevicePublishCommand(rest, cli, signal, io)
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(DEVICE_USAGE)
    return COMMAND_EXIT.OK
  }
  const message = sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`
  if (args.includes('--json')) io.out(JSON.stringify({ error: { code: 'USAGE', message } }))
  io.err(`chanvm device: ${message}\n\n${DEVICE_USAGE}`)
  return COMMAND_EXIT.USAGE
}
