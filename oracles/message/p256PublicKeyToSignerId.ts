import { bytesToHex, hexToBytes, type Hex } from 'viem'
import { keccak256Bytes } from '../../engine/crypto/keccak256Bytes.ts'
import { ChanvmError } from '../../engine/errors.ts'

/** Signer ids of recently seen keys, by the key's spelling: every P-256 message needs its signer's. */
const ids = new Map<string, Hex>()
const MAX_IDS = 10_000

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
  const known = ids.get(publicKey)
  if (known !== undefined) return known
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(publicKey)
  } catch (cause) {
    throw new ChanvmError('INVALID_ARGUMENT', 'P-256 public key is not hex', { cause })
  }
  if (bytes.length === 65 && bytes[0] === 4) bytes = bytes.subarray(1)
  if (bytes.length !== 64)
    throw new ChanvmError('INVALID_ARGUMENT', `P-256 public key must be 64 bytes x || y, got ${bytes.length}`)
  // The WebAssembly Keccak: a verifier thread hashes each key it meets once, while its code is cold.
  const id = bytesToHex(keccak256Bytes(bytes))
  if (ids.size >= MAX_IDS) ids.clear()
  ids.set(publicKey, id)
  return id
}
