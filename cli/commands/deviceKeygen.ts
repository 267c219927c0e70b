// `chanvm device keygen`: a new device key in a file of its own (mode 0600), and its signer id.
import { parseArgs } from 'node:util'
import { createOracleKey } from '../../oracles/message/createOracleKey.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import type { Curve } from '../../oracles/message/types.ts'
import type { CliIo } from './commandIo.ts'
import { COMMAND_EXIT, commandIoFromProcess, runCommand, usageError, type CommandIo } from './commandIo.ts'
import { writeDeviceKeyFile } from './deviceKeyFile.ts'

export const DEVICE_KEYGEN_USAGE = `Usage: chanvm device keygen --out FILE [--curve p256|secp256k1] [--json]

Creates a device signing key, writes it to FILE (mode 0600, never overwriting a file) and prints
the device's signer id: the id a channel's terms name (cold-chain --device, tv-delivery --oracles)
and the topic segment it publishes under. No node is needed.

  --out FILE        the key file to create
  --curve NAME      p256 (the curve of secure elements such as the ATECC608; default) or secp256k1
  --json            print {signerId, curve, keyFile, topic, publicKey}
  -h, --help        show this help

Exit codes: 0 written, 2 usage error, 3 the file exists or cannot be written.`

/**
 * Parses `chanvm device keygen`'s arguments.
 *
 * @example
 * ```ts
 * parseDeviceKeygenArgs(['--out', 'k.key']) // { out: 'k.key', curve: 'p256', json: false }
 * ```
 */
export function parseDeviceKeygenArgs(
  args: readonly string[],
): { out: string; curve: Curve; json: boolean } | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      curve: { type: 'string', default: 'p256' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return { help: true }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`)
  if (values.out === undefined || values.out === '') throw usageError('--out FILE is required')
  if (values.curve !== 'p256' && values.curve !== 'secp256k1')
    throw usageError(`--curve must be p256 or secp256k1, got ${JSON.stringify(values.curve)}`)
  return { out: values.out, curve: values.curve, json: values.json }
}

/**
 * Runs `chanvm device keygen` with the arguments after `keygen`.
 *
 * @example
 * ```ts
 * await runDeviceKeygenCommand(['--curve', 'p256', '--out', 'thermometer.key'], { out: console.log, err: console.error })
 * ```
 */
export async function runDeviceKeygenCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'device keygen',
    usage: DEVICE_KEYGEN_USAGE,
    args,
    io,
    signal,
    parse: () => parseDeviceKeygenArgs(args),
    run: async ({ out, curve, json }) => {
      const file = writeDeviceKeyFile(out, createOracleKey(curve))
      const topic = readingTopic(file.signerId)
      if (json)
        io.out(
          JSON.stringify({
            signerId: file.signerId,
            curve,
            keyFile: out,
            topic,
            ...(file.publicKey === undefined ? {} : { publicKey: file.publicKey }),
          }),
        )
      else {
        io.out(file.signerId)
        io.err(`${curve} key written to ${out} (mode 0600); it publishes readings on ${topic}`)
      }
      return COMMAND_EXIT.OK
    },
  })
}
