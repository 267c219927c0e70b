/**
 * A simulated thermometer you can run:
 *
 *   npx tsx oracles/sim/device.ts [--broker mqtt://127.0.0.1:1883] [--chain-id 31337]
 *     [--profile steady|excursion] [--interval 1000] [--count N] [--curve p256|secp256k1] [--key 0x…]
 *
 * Without --broker it starts an embedded broker and prints its URL. Prints the device id, then one
 * line per published reading. Stops on Ctrl-C or after --count readings.
 */
import type { Hex } from 'viem'
import { startEmbeddedBroker, type EmbeddedBroker } from '../mqtt/startEmbeddedBroker.ts'
import { createOracleKey } from '../message/createOracleKey.ts'
import { startDeviceSimulator } from './startDeviceSimulator.ts'
import { optionToBigInt, parseCommandLine } from './parseCommandLine.ts'

const usage = `usage: npx tsx oracles/sim/device.ts [--broker mqtt://127.0.0.1:1883] [--chain-id 31337]
  [--profile steady|excursion] [--interval 1000] [--count N] [--curve p256|secp256k1] [--key 0x…] [--sequence 1]
Publishes signed temperature readings; without --broker it starts an embedded broker.`

const values = parseCommandLine('device', usage, {
  broker: { type: 'string' },
  'chain-id': { type: 'string', default: '31337' },
  profile: { type: 'string', default: 'steady' },
  interval: { type: 'string', default: '1000' },
  count: { type: 'string' },
  curve: { type: 'string', default: 'p256' },
  key: { type: 'string' },
  sequence: { type: 'string', default: '1' },
})

const fail = (message: string): never => {
  process.stderr.write(`device: ${message}\n`)
  process.exit(2)
}
if (values.profile !== 'steady' && values.profile !== 'excursion')
  fail('--profile must be steady or excursion')
if (values.curve !== 'p256' && values.curve !== 'secp256k1') fail('--curve must be p256 or secp256k1')
const curve = values.curve as 'p256' | 'secp256k1'

let broker: EmbeddedBroker | undefined
let url = values.broker
if (url === undefined) {
  broker = await startEmbeddedBroker()
  url = broker.url
  process.stdout.write(`embedded broker on ${url}\n`)
}
const key = values.key !== undefined ? { curve, privateKey: values.key as Hex } : createOracleKey(curve)
const device = await startDeviceSimulator({
  url,
  chainId: optionToBigInt('device', 'chain-id', values['chain-id']),
  key,
  profile: { kind: values.profile as 'steady' | 'excursion' },
  intervalMs: Number(optionToBigInt('device', 'interval', values.interval)),
  startSequence: optionToBigInt('device', 'sequence', values.sequence),
  ...(values.count !== undefined ? { count: Number(optionToBigInt('device', 'count', values.count)) } : {}),
  onPublish: (s) => {
    process.stdout.write(
      `reading seq=${s.reading.sequence} t=${s.reading.timestamp} value=${s.reading.value} mC\n`,
    )
    if (values.count !== undefined && device.published() >= Number(values.count)) void shutdown()
  },
})
process.stdout.write(`device ${device.deviceId} (${curve}) publishing to ${url}\n`)

async function shutdown(): Promise<void> {
  await device.stop()
  await broker?.close()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown())
process.once('SIGTERM', () => void shutdown())
