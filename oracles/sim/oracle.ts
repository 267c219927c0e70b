/**
 * A simulated oracle you can run:
 *
 *   npx tsx oracles/sim/oracle.ts --question 0x…32 bytes | --tracking TRACK-123
 *     [--broker mqtt://127.0.0.1:1883] [--chain-id 31337] [--answer delivered] [--interval 0]
 *     [--curve secp256k1|p256] [--key 0x…]
 *
 * Publishes the answer once (or every --interval ms) and prints the oracle id. Without --broker it
 * starts an embedded broker. `--tracking` sets the question id to keccak256 of the tracking id.
 */
import { keccak256, toHex, type Hex } from 'viem'
import { startEmbeddedBroker, type EmbeddedBroker } from '../mqtt/startEmbeddedBroker.ts'
import { createOracleKey } from '../message/createOracleKey.ts'
import { startOracleSimulator } from './startOracleSimulator.ts'
import { optionToBigInt, parseCommandLine } from './parseCommandLine.ts'

const usage = `usage: npx tsx oracles/sim/oracle.ts --question 0x<32 bytes> | --tracking TRACK-123
  [--broker mqtt://127.0.0.1:1883] [--chain-id 31337] [--answer delivered] [--interval 0] [--curve secp256k1|p256] [--key 0x…]
Publishes a signed answer once (or every --interval ms); without --broker it starts an embedded broker.`

const values = parseCommandLine('oracle', usage, {
  broker: { type: 'string' },
  'chain-id': { type: 'string', default: '31337' },
  question: { type: 'string' },
  tracking: { type: 'string' },
  answer: { type: 'string', default: 'delivered' },
  interval: { type: 'string', default: '0' },
  curve: { type: 'string', default: 'secp256k1' },
  key: { type: 'string' },
})
const fail = (message: string): never => {
  process.stderr.write(`oracle: ${message}\n`)
  process.exit(2)
}
if (values.curve !== 'p256' && values.curve !== 'secp256k1') fail('--curve must be p256 or secp256k1')
const curve = values.curve as 'p256' | 'secp256k1'
const questionId: Hex =
  values.question !== undefined
    ? (values.question as Hex)
    : values.tracking !== undefined
      ? keccak256(toHex(values.tracking))
      : fail('give --question or --tracking')

let broker: EmbeddedBroker | undefined
let url = values.broker
if (url === undefined) {
  broker = await startEmbeddedBroker()
  url = broker.url
  process.stdout.write(`embedded broker on ${url}\n`)
}
const intervalMs = Number(optionToBigInt('oracle', 'interval', values.interval))
const oracle = await startOracleSimulator({
  url,
  chainId: optionToBigInt('oracle', 'chain-id', values['chain-id']),
  questionId,
  answer: values.answer,
  key: values.key !== undefined ? { curve, privateKey: values.key as Hex } : createOracleKey(curve),
  intervalMs,
  onPublish: (s) =>
    process.stdout.write(
      `answer question=${s.answer.questionId} answer=${s.answer.answer} t=${s.answer.timestamp}\n`,
    ),
})
process.stdout.write(`oracle ${oracle.oracleId} (${curve}) publishing to ${url}\n`)

async function shutdown(): Promise<void> {
  await oracle.stop()
  await broker?.close()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown())
process.once('SIGTERM', () => void shutdown())
if (intervalMs === 0) {
  await oracle.answerNow()
  await shutdown()
}
