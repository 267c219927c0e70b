import type { Hex } from 'viem'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { readingToEnvelope } from '../../oracles/message/readingToEnvelope.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type { OracleKey, SignedReading } from '../../oracles/message/types.ts'
import { connectMqtt } from '../../oracles/mqtt/connectMqtt.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'

/** A meter publishing its signed usage readings (see {@link startMeter}). */
export type Meter = {
  /** The meter's signer id: the `meter` term of the channel and the readings' `device`. */
  readonly id: Hex
  /** Signs a reading of cumulative usage `seconds` (kind `usage`, unit `s`) and publishes it; resolves once the broker has it. */
  report(seconds: bigint): Promise<SignedReading>
  stop(): Promise<void>
}

/**
 * A meter: a device key that signs the cumulative usage of a service (seconds of service so far,
 * kind `usage`, unit `s`, as Metered.sol takes it) in readings with increasing sequence numbers and
 * publishes them at QoS 1 on `chanvm/v1/devices/{meter}/readings`, where the parties' nodes
 * verify them. `now` is the meter's clock in seconds (default: the host's).
 *
 * @example
 * ```ts
 * const meter = await startMeter({ url: broker.url, chainId: 31337n, key: createOracleKey('p256') })
 * await meter.report(15n) // 15 s of service so far
 * await meter.stop()
 * ```
 */
export async function startMeter(opts: {
  url: string
  chainId: bigint
  key: OracleKey
  now?: () => bigint
}): Promise<Meter> {
  const id = getSignerId(opts.key)
  const now = opts.now ?? (() => BigInt(Math.floor(Date.now() / 1000)))
  const link = await connectMqtt({ url: opts.url, clientId: `chanvm-meter-${id.slice(-16)}-${process.pid}` })
  const kind = textToBytes32('usage')
  const unit = textToBytes32('s')
  let sequence = 1n
  return {
    id,
    async report(seconds) {
      const reading = { device: id, sequence: sequence++, timestamp: now(), kind, value: seconds, unit }
      const signed = signReading({ chainId: opts.chainId, reading, key: opts.key })
      await link.client.publishAsync(readingTopic(id), JSON.stringify(readingToEnvelope(signed)), {
        qos: 1,
        retain: false,
      })
      return signed
    },
    stop: () => link.close(),
  }
}
