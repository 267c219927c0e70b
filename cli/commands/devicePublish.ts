// `chanvm device publish`: signs readings read from standard input (or a CSV file) with a device
// key and publishes them over MQTT at QoS 1, one sequence number per reading, never reused.
import { accessSync, constants, createReadStream } from 'node:fs'
import { ChanvmError } from '../../engine/errors.ts'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { readingToEnvelope } from '../../oracles/message/readingToEnvelope.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import { connectMqtt } from '../../oracles/mqtt/connectMqtt.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import type { CliIo } from './commandIo.ts'
import {
  COMMAND_EXIT,
  commandIoFromProcess,
  errorMessage,
  runCommand,
  usageError,
  type CommandIo,
} from './commandIo.ts'
import { readDeviceKeyFile } from './deviceKeyFile.ts'
import { parseInteger, parseTime, parseWhole } from './parseValues.ts'
import { lockDevice, readLastSequence, sequenceFileOf, writeLastSequence } from './sequenceFile.ts'

export const DEVICE_PUBLISH_USAGE = `Usage: chanvm device publish --key FILE --broker URL --chain-id N [options] < readings

Signs each reading with the device key and publishes it at QoS 1 (waiting for the broker's
acknowledgement) as the JSON envelope of docs/messages.md. Input, one reading per line:
  standard input          a value per line (an integer, e.g. milli-degrees: -18250), stamped now
  --csv FILE              rows "timestamp,value" (unix seconds or ISO 8601); FILE - is standard input
Empty lines and lines starting with # are skipped, as is a CSV header row.

The last sequence number used is kept in FILE.seq next to the key, written and fsynced before each
reading leaves, so a restarted device goes on after it and never reuses one. FILE.lock keeps two
publishers from using one key at the same time.

  --key FILE              the device key (chanvm device keygen)
  --broker URL            mqtt://, mqtts://, tcp://, ws:// or wss:// broker
  --chain-id N            the chain the readings are signed for (part of what is signed)
  --device-topic TOPIC    publish here (default chanvm/v1/devices/{signer id}/readings)
  --kind TEXT             reading kind (default temperature)
  --unit TEXT             unit (default mC, milli-degrees Celsius)
  --username NAME         broker user name
  --password-env NAME     environment variable holding the broker password
  --client-id ID          MQTT client id (default chanvm-device-{end of signer id})
  --json                  print one JSON document at the end instead of a line per reading
  -h, --help              show this help

Exit codes: 0 all input published, 2 usage error or a bad input line (readings before it were
published), 3 broker unreachable, key or sequence file unusable, 130 interrupted.`

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const UINT64_MAX = (1n << 64n) - 1n
const BROKER_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:']

/** What `chanvm device publish` does. */
export type DevicePublishArgs = {
  key: string
  broker: string
  chainId: bigint
  topic?: string
  /** `undefined`: values on stdin; `-`: CSV on stdin; else a CSV file. */
  csv?: string
  kind: Hex
  unit: Hex
  kindText: string
  unitText: string
  username?: string
  password?: string
  clientId?: string
  json: boolean
}

/**
 * Parses `chanvm device publish`'s arguments.
 *
 * @example
 * ```ts
 * const a = parseDevicePublishArgs(['--key', 'k.key', '--broker', 'mqtt://127.0.0.1:1883', '--chain-id', '1'], process.env)
 * ```
 */
export function parseDevicePublishArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DevicePublishArgs | { help: true } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      broker: { type: 'string' },
      'chain-id': { type: 'string' },
      'device-topic': { type: 'string' },
      csv: { type: 'string' },
      kind: { type: 'string', default: 'temperature' },
      unit: { type: 'string', default: 'mC' },
      username: { type: 'string' },
      'password-env': { type: 'string' },
      'client-id': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return { help: true }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`)
  if (values.key === undefined || values.key === '') throw usageError('--key FILE is required')
  if (values.broker === undefined) throw usageError('--broker URL is required')
  let scheme = ''
  try {
    scheme = new URL(values.broker).protocol
  } catch {
    scheme = ''
  }
  if (!BROKER_SCHEMES.includes(scheme))
    throw usageError(
      `--broker needs an ${BROKER_SCHEMES.join('//, ')}// URL, got ${JSON.stringify(values.broker)}`,
    )
  if (values['chain-id'] === undefined)
    throw usageError('--chain-id N is required (the readings are signed for one chain)')
  const chainId = parseWhole(values['chain-id'], '--chain-id', 1n, UINT64_MAX)
  const topic = values['device-topic']
  if (topic !== undefined && (topic === '' || /[#+\u0000]/.test(topic) || Buffer.byteLength(topic) > 65_535))
    throw usageError(
      `--device-topic must be a topic name without wildcards (+, #), got ${JSON.stringify(topic)}`,
    )
  const text = (flag: string, v: string): Hex => {
    try {
      return textToBytes32(v)
    } catch {
      throw usageError(
        `--${flag} must be 1 to 32 printable ASCII characters without spaces, got ${JSON.stringify(v)}`,
      )
    }
  }
  const out: DevicePublishArgs = {
    key: values.key,
    broker: values.broker,
    chainId,
    kind: text('kind', values.kind),
    unit: text('unit', values.unit),
    kindText: values.kind,
    unitText: values.unit,
    json: values.json,
  }
  if (topic !== undefined) out.topic = topic
  if (values.csv !== undefined) {
    if (values.csv === '') throw usageError('--csv takes a file, or - for standard input')
    out.csv = values.csv
  }
  if (values.username !== undefined) out.username = values.username
  const passwordEnv = values['password-env']
  if (passwordEnv !== undefined) {
    const password = env[passwordEnv]
    if (password === undefined) throw usageError(`--password-env: ${passwordEnv} is not set`)
    out.password = password
  }
  if (values['client-id'] !== undefined) out.clientId = values['client-id']
  return out
}

/**
 * One input line: skipped (`undefined`) or a timestamp and a value; throws a usage error for a bad line.
 *
 * @example
 * ```ts
 * parseReadingLine('1800000000,-18250', true, Date.now(), false) // { timestamp: 1800000000n, value: -18250n }
 * ```
 */
export function parseReadingLine(
  line: string,
  csv: boolean,
  nowMs: number,
  first: boolean,
): { timestamp: bigint; value: bigint } | undefined {
  const t = line.trim()
  if (t === '' || t.startsWith('#')) return undefined
  if (!csv) {
    if (t.includes(','))
      throw usageError(`expected one value, got ${JSON.stringify(t)} (rows timestamp,value need --csv -)`)
    return {
      timestamp: BigInt(Math.floor(nowMs / 1000)),
      value: parseInteger(t, 'value', INT64_MIN, INT64_MAX),
    }
  }
  const cells = t.split(',').map((c) => c.trim())
  if (cells.length !== 2) throw usageError(`expected timestamp,value, got ${JSON.stringify(t)}`)
  const [ts = '', v = ''] = cells
  if (first && /^[A-Za-z_ ]+$/.test(ts) && /^[A-Za-z_ ]+$/.test(v)) return undefined
  const timestamp = parseTime(ts, 'timestamp', nowMs)
  if (timestamp > UINT64_MAX) throw usageError(`timestamp out of range: ${ts}`)
  return { timestamp, value: parseInteger(v, 'value', INT64_MIN, INT64_MAX) }
}

/**
 * Runs `chanvm device publish` with the arguments after `publish`.
 *
 * @example
 * ```ts
 * await runDevicePublishCommand(['--key', 'thermometer.key', '--broker', 'mqtt://127.0.0.1:1883',
 *   '--chain-id', '31337'], { out: console.log, err: console.error })
 * ```
 */
export async function runDevicePublishCommand(
  args: readonly string[],
  cli: CliIo,
  signal?: AbortSignal,
  io: CommandIo = commandIoFromProcess(cli),
): Promise<number> {
  return runCommand({
    name: 'device publish',
    usage: DEVICE_PUBLISH_USAGE,
    args,
    io,
    signal,
    parse: () => parseDevicePublishArgs(args, io.env),
    run: (a) => publish(a, io, signal),
  })
}

async function publish(
  a: DevicePublishArgs,
  io: CommandIo,
  signal: AbortSignal | undefined,
): Promise<number> {
  const key = readDeviceKeyFile(a.key, io.err)
  const device = key.signerId
  const topic = a.topic ?? readingTopic(device)
  const seqPath = sequenceFileOf(a.key)
  const release = lockDevice(a.key)
  try {
    let last = readLastSequence(seqPath)
    const startedAfter = last
    const fromFile = a.csv !== undefined && a.csv !== '-'
    if (fromFile) checkReadable(a.csv ?? '')
    const input: NodeJS.ReadableStream = fromFile ? createReadStream(a.csv ?? '') : io.stdin
    const inputError = new Promise<never>((_, reject) =>
      input.once('error', (e: Error) =>
        reject(new Error(`cannot read ${a.csv ?? 'standard input'}: ${errorMessage(e)}`)),
      ),
    )
    inputError.catch(() => {})
    let lastLog = ''
    const link = await connectMqtt({
      url: a.broker,
      clientId: a.clientId ?? `chanvm-device-${device.slice(-16)}`,
      ...(a.username === undefined ? {} : { username: a.username }),
      ...(a.password === undefined ? {} : { password: a.password }),
      log: (line) => {
        // A broker that is down is reported once, not once per reconnect attempt.
        if (line === lastLog) return
        lastLog = line
        io.err(line)
      },
    })
    const say = a.json ? () => {} : io.out
    say(`device ${device} (${key.curve}) publishing to ${topic} on ${a.broker}, after sequence ${last}`)
    const lines = createInterface({ input, crlfDelay: Infinity })
    const onAbort = () => lines.close()
    signal?.addEventListener('abort', onAbort, { once: true })
    let published = 0
    let lineNo = 0
    let first = true
    try {
      const iterator = lines[Symbol.asyncIterator]()
      for (;;) {
        const next = await Promise.race([iterator.next(), inputError])
        if (next.done === true || signal?.aborted === true) break
        lineNo++
        let parsed
        try {
          parsed = parseReadingLine(next.value, a.csv !== undefined, io.now(), first)
        } catch (e) {
          throw usageError(
            `line ${lineNo}: ${errorMessage(e)}${published > 0 ? `; the ${published} reading(s) before it were published` : ''}`,
          )
        }
        first = false
        if (parsed === undefined) continue
        if (last >= UINT64_MAX) throw usageError('the device has used every sequence number (2^64 - 1)')
        const sequence = last + 1n
        // Recorded before the reading leaves: after a crash the next run starts above it.
        writeLastSequence(seqPath, sequence)
        last = sequence
        const reading = {
          device,
          sequence,
          timestamp: parsed.timestamp,
          kind: a.kind,
          value: parsed.value,
          unit: a.unit,
        }
        const signed = signReading({ chainId: a.chainId, reading, key })
        await link.client.publishAsync(topic, JSON.stringify(readingToEnvelope(signed)), {
          qos: 1,
          retain: false,
        })
        published++
        say(`published seq=${sequence} t=${parsed.timestamp} value=${parsed.value} ${a.unitText}`)
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      lines.close()
      await link.close()
    }
    if (signal?.aborted === true) throw new Error('interrupted')
    if (a.json)
      io.out(
        JSON.stringify({
          device,
          curve: key.curve,
          topic,
          chainId: a.chainId.toString(),
          published,
          firstSequence: published === 0 ? null : (startedAfter + 1n).toString(),
          lastSequence: last.toString(),
          sequenceFile: seqPath,
        }),
      )
    else say(`${published} reading(s) published; last sequence ${last} (kept in ${seqPath})`)
    return COMMAND_EXIT.OK
  } finally {
    release()
  }
}

function checkReadable(path: string): void {
  try {
    accessSync(path, constants.R_OK)
  } catch (cause) {
    throw new ChanvmError(
      'CONFIG',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      { cause },
    )
  }
}
