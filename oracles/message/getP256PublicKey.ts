import { p256 } from '@noble/curves/nist.js'
import { bytesToHex, hexToBytes, type Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'

/**
 * The 64-byte uncompressed public key `x || y` (no 0x04 prefix) of a P-256 private key, as it goes
 * in `OracleSig.pubX`/`pubY` and the MQTT envelope.
 *
 * @example
 * ```ts
 * const publicKey = getP256PublicKey(privateKey) // 0x + 128 hex digits
 * ```
 */
export function getP256PublicKey(privateKey: Hex): Hex {
  try {
    return bytesToHex(p256.getPublicKey(hexToBytes(privateKey), false).subarray(1))
  } catch (cause) {
    throw new ChanvmError('INVALID_ARGUMENT', 'not a valid P-256 private key', { cause })
  }
}
