import { isHex, type Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { answerToEnvelope } from '../message/answerToEnvelope.ts'
import { createOracleKey } from '../message/createOracleKey.ts'
import { getSignerId } from '../message/getSignerId.ts'
import { signAnswer } from '../message/signAnswer.ts'
import { textToBytes32 } from '../message/textToBytes32.ts'
import type { OracleKey, SignedAnswer } from '../message/types.ts'
import { answerTopic } from '../mqtt/answerTopic.ts'
import { connectMqtt } from '../mqtt/connectMqtt.ts'

/** Options of {@link startOracleSimulator}. */
export type OracleSimulatorOptions = {
  url: string
  chainId: bigint
  /** The question answered (TvDelivery: keccak256 of the tracking id). */
  questionId: Hex
  /** The answer: short text (`delivered`) or 32 bytes hex. Default `delivered`. */
  answer?: string
  /** The oracle key. Default: a fresh secp256k1 key. */
  key?: OracleKey
  /** Milliseconds between repeated answers (each with a new timestamp); 0 answers only on `answerNow()`. Default 0. */
  intervalMs?: number
  /** Clock for answer timestamps, in ms. Default `Date.now`. */
  now?: () => number
  onPublish?: (signed: SignedAnswer) => void
}

/** A running oracle simulator. */
export type OracleSimulator = {
  readonly oracleId: Hex
  readonly key: OracleKey
  /** Signs and publishes the answer now (timestamp = now); resolves once the broker acknowledged it. */
  answerNow(): Promise<SignedAnswer>
  stop(): Promise<void>
}

/**
 * A simulated oracle: signs an answer to one question with its own key and publishes it at QoS 1 to
 * `chanvm/v1/oracles/{oracle}/answers`, once on `answerNow()` or every `intervalMs`.
 *
 * @example
 * ```ts
 * const oracle = await startOracleSimulator({ url, chainId: 31337n, questionId: keccak256(toHex('TRACK-1')) })
 * await oracle.answerNow()
 * await oracle.stop()
 * ```
 */
export async function startOracleSimulator(options: OracleSimulatorOptions): Promise<OracleSimulator> {
  const key = options.key ?? createOracleKey('secp256k1')
  const oracleId = getSignerId(key)
  const text = options.answer ?? 'delivered'
  const answerValue: Hex = isHex(text) && text.length === 66 ? text : textToBytes32(text)
  if (!isHex(options.questionId) || options.questionId.length !== 66)
    throw new ChanvmError('INVALID_ARGUMENT', 'questionId must be 32 bytes hex')
  const now = options.now ?? Date.now
  const link = await connectMqtt({
    url: options.url,
    clientId: `chanvm-oracle-${oracleId.slice(-16)}-${process.pid}`,
  })
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const answerNow = async (): Promise<SignedAnswer> => {
    if (stopped) throw new ChanvmError('TRANSPORT_CLOSED', 'oracle simulator is stopped')
    const answer = {
      questionId: options.questionId.toLowerCase() as Hex,
      answer: answerValue,
      timestamp: BigInt(Math.floor(now() / 1000)),
    }
    const signed = signAnswer({ chainId: options.chainId, answer, key })
    await link.client.publishAsync(
      answerTopic(oracleId),
      JSON.stringify(answerToEnvelope(signed, oracleId)),
      { qos: 1, retain: false },
    )
    options.onPublish?.(signed)
    return signed
  }
  const intervalMs = options.intervalMs ?? 0
  // Answers are replay-keyed by their timestamp in seconds: two in one second would be a replay.
  if (!(intervalMs === 0 || intervalMs >= 1_000))
    throw new ChanvmError('INVALID_ARGUMENT', 'intervalMs must be 0 or at least 1000')
  if (intervalMs > 0) {
    timer = setInterval(() => {
      if (!stopped) answerNow().catch(() => {})
    }, intervalMs)
  }
  return {
    oracleId,
    key,
    answerNow,
    async stop() {
      stopped = true
      if (timer !== undefined) clearInterval(timer)
      await link.close()
    },
  }
}
