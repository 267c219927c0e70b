import { hashReading } from './hashReading.ts'
import { verifyOracleSignature } from './verifyOracleSignature.ts'
import type { OracleSignatureVerdict, SignedReading } from './types.ts'

/**
 * Verifies a signed reading as Solidity `OracleMessages.verifyReading` does: a valid signature
 * over `hashReading(chainId, reading)` whose signer id is `reading.device` (else `wrong-signer`).
 * Whether the device is registered, the sequence fresh and the time in range is the caller's
 * policy (the MQTT validator and the apps apply it).
 *
 * @example
 * ```ts
 * const v = verifyReading(signed)
 * if (!v.ok) console.log('rejected:', v.reason)
 * ```
 */
export function verifyReading(signed: SignedReading): OracleSignatureVerdict {
  const v = verifyOracleSignature(hashReading(signed.chainId, signed.reading), signed.signature)
  if (!v.ok) return v
  if (v.signer !== signed.reading.device.toLowerCase()) return { ok: false, reason: 'wrong-signer' }
  return v
}
