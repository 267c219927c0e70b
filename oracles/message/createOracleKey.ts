import { p256 } from '@noble/curves/nist.js'
import { bytesToHex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import type { Curve, OracleKey } from './types.ts'

/**
 * A fresh random key for a device or an oracle (a simulator, a test). Real devices keep their key
 * in a secure element and only expose the public key.
 *
 * @example
 * ```ts
 * const key = createOracleKey('p256')
 * ```
 */
export function createOracleKey(curve: Curve): OracleKey {
  if (curve === 'p256') return { curve, privateKey: bytesToHex(p256.utils.randomSecretKey()) }
  return { curve, privateKey: generatePrivateKey() }
}
