import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { ChanvmError } from '../../engine/errors.ts'
import { addressToSignerId } from './addressToSignerId.ts'
import { getP256PublicKey } from './getP256PublicKey.ts'
import { p256PublicKeyToSignerId } from './p256PublicKeyToSignerId.ts'
import type { OracleKey } from './types.ts'

/**
 * The signer id (device id, oracle id) of a key: for secp256k1 the address left-padded to 32
 * bytes, for P-256 keccak256 of the public point `x || y`.
 *
 * @example
 * ```ts
 * const device = getSignerId({ curve: 'p256', privateKey })
 * ```
 */
export function getSignerId(key: OracleKey): Hex {
  if (key.curve === 'p256') return p256PublicKeyToSignerId(getP256PublicKey(key.privateKey))
  try {
    return addressToSignerId(privateKeyToAddress(key.privateKey))
  } catch (cause) {
    throw new ChanvmError('INVALID_ARGUMENT', 'not a valid secp256k1 private key', { cause })
  }
}
