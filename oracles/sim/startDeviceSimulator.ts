import type { Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { createOracleKey } from '../message/createOracleKey.ts'
import { getSignerId } from '../message/getSignerId.ts'
import { readingToEnvelope } from '../message/readingToEnvelope.ts'
import { signReading } from '../message/signReading.ts'
import { textToBytes32 } from '../message/textToBytes32.ts'
import type { OracleKey, SignedReading } from '../message/types.ts'
import { connectMqtt } from '../mqtt/connectMqtt.ts'
import { readingTopic } from '../mqtt/readingTopic.ts'
import { temperatureProfile, type TemperatureProfile } from './temperatureProfile.ts'

/** Options of {@link startDeviceSimulator}. */
export type DeviceSimulatorOptions = {
  /** Broker URL. */
  url: string
  chainId: bigint
  /** The device key. Default: a fresh P-256 key (as a secure element carries). */
  key?: OracleKey
  /** Default `{ kind: 'steady' }`. */
  profile?: TemperatureProfile
  /** Milliseconds between readings; 0 publishes only on `publishNow()`. Default 1,000. */
  intervalMs?: number
  /** Sequence number of the first reading. Default 1. */
  startSequence?: bigint
  /** Stop after this many readings. Default: never. */
  count?: number
  /** Clock for reading timestamps, in ms. Default `Date.now`. */
  now?: () => number
  /** Called with every reading once the broker acknowledged it. */
  onPublish?: (signed: SignedReading) => void
}

/** A running device simulator. */
export type DeviceSimulator = {
  /** The device's signer id (its MQTT topic segment and `Reading.device`). */
  readonly deviceId: Hex
  readonly key: OracleKey
  /** Signs and publishes the next reading now; resolves when the broker acknowledged it. */
  publishNow(): Promise<SignedReading>
  /** How many readings were published. */
  published(): number
  stop(): Promise<void>
}

/**
 * A simulated thermometer: signs a `temperature` reading in milli-degrees Celsius (`mC`) every
 * `intervalMs` with its own key and publishes it at QoS 1 to `chanvm/v1/devices/{device}/readings`.
 *
 * @example
 * ```ts
 * const device = await startDeviceSimulator({ url: broker.url, chainId: 31337n, profile: { kind: 'excursion' } })
 * console.log('device id', device.deviceId)
 * await device.stop()
 * ```
 */
export async function startDeviceSimulator(options: DeviceSimulatorOptions): Promise<DeviceSimulator> {
  const key = options.key ?? createOracleKey('p256')
  const deviceId = getSignerId(key)
  const profile = options.profile ?? { kind: 'steady' }
  const intervalMs = options.intervalMs ?? 1_000
  if (!(intervalMs >= 0)) throw new ChanvmError('INVALID_ARGUMENT', 'intervalMs must be >= 0')
  const now = options.now ?? Date.now
  const link = await connectMqtt({
    url: options.url,
    clientId: `chanvm-device-${deviceId.slice(-16)}-${process.pid}`,
  })
  const kind = textToBytes32('temperature')
  const unit = textToBytes32('mC')
  let index = 0
  let sequence = options.startSequence ?? 1n
  let stopped = false
  let timer: NodeJS.Timeout | undefined

  const publishNow = async (): Promise<SignedReading> => {
    if (stopped) throw new ChanvmError('TRANSPORT_CLOSED', 'device simulator is stopped')
    const reading = {
      device: deviceId,
      sequence: sequence++,
      timestamp: BigInt(Math.floor(now() / 1000)),
      kind,
      value: temperatureProfile(profile, index++),
      unit,
    }
    const signed = signReading({ chainId: options.chainId, reading, key })
    await link.client.publishAsync(readingTopic(deviceId), JSON.stringify(readingToEnvelope(signed)), {
      qos: 1,
      retain: false,
    })
    options.onPublish?.(signed)
    if (options.count !== undefined && index >= options.count) void stop()
    return signed
  }
  const stop = async () => {
    stopped = true
    if (timer !== undefined) clearInterval(timer)
    await link.close()
  }
  if (intervalMs > 0) {
    timer = setInterval(() => {
      if (!stopped) publishNow().catch(() => {})
    }, intervalMs)
  }
  return { deviceId, key, publishNow, published: () => index, stop }
}
