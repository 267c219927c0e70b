import { ChanvmError } from '../../engine/errors.ts'
import { bytes32ToText } from './bytes32ToText.ts'
import type { ReadingEnvelope } from './envelopeSchema.ts'
import type { SignedReading } from './types.ts'

/**
 * The MQTT JSON envelope of a signed reading (publish `JSON.stringify` of it to
 * `chanvm/v1/devices/{device}/readings`). Throws `INVALID_ARGUMENT` when `kind` or `unit` is not
 * text made by `textToBytes32`.
 *
 * @example
 * ```ts
 * client.publish(readingTopic(signed.reading.device), JSON.stringify(readingToEnvelope(signed)), { qos: 1 })
 * ```
 */
export function readingToEnvelope(signed: SignedReading): ReadingEnvelope {
  const { reading, signature } = signed
  const kind = bytes32ToText(reading.kind)
  const unit = bytes32ToText(reading.unit)
  if (kind === undefined || unit === undefined)
    throw new ChanvmError(
      'INVALID_ARGUMENT',
      'reading kind and unit must be ASCII text in bytes32 (textToBytes32)',
    )
  return {
    v: 1,
    type: 'reading',
    chainId: signed.chainId.toString(),
    device: reading.device.toLowerCase(),
    sequence: reading.sequence.toString(),
    timestamp: reading.timestamp.toString(),
    kind,
    value: reading.value.toString(),
    unit,
    curve: signature.curve,
    ...(signature.curve === 'p256' ? { publicKey: signature.publicKey.toLowerCase() } : {}),
    signature: signature.signature.toLowerCase(),
  }
}
