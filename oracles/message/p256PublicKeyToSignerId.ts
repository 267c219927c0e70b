import { hexToBytes, keccak256, type Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'

/**
 * The signer id of a P-256 key: keccak256 of its 64-byte uncompressed point `x || y` (no 0x04
 * prefix), as Solidity `OracleMessages.idOfP256(x, y)`. Also accepts the 65-byte `04 || x || y` form.
 *
 * @example
 * ```ts
 * const deviceId = p256PublicKeyToSignerId(publicKey)
 * ```
 */
export function p256PublicKeyToSignerId(publicKey: Hex): Hex {
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(publicKey)
  } catch (cause) {
    throw new ChanvmError('INVALID_ARGUMENT', 'P-256 public key is not hex', { cause })
  }
  if (bytes.length === 65 && bytes[0] === 4) bytes = bytes.subarray(1)
  if (bytes.length !== 64)
    throw new ChanvmError('INVALID_ARGUMENT', `P-256 public key must be 64 bytes x || y, got ${bytes.length}`)
  return keccak256(bytes)
}
