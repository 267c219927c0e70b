import { hexToBytes, bytesToHex, type Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import { curveIds, type OracleSigStruct, type OracleSignature } from './types.ts'

const ZERO: Hex = `0x${'00'.repeat(32)}`

/**
 * The Solidity `OracleSig` struct for a signature, ready to ABI-encode into an app action:
 * `{curve: 1, pubX: 0, pubY: 0, sig}` for secp256k1, `{curve: 2, pubX, pubY, sig}` for P-256.
 * Throws `INVALID_ARGUMENT` for a P-256 public key that is not 64 bytes.
 *
 * @example
 * ```ts
 * const action = encodeAbiParameters(abi, [reading, oracleSignatureToStruct(signed.signature)])
 * ```
 */
export function oracleSignatureToStruct(sig: OracleSignature): OracleSigStruct {
  if (sig.curve === 'secp256k1') return { curve: curveIds.secp256k1, pubX: ZERO, pubY: ZERO, sig: sig.signature }
  const pub = hexToBytes(sig.publicKey)
  if (pub.length !== 64) throw new ChanvmError('INVALID_ARGUMENT', `P-256 public key must be 64 bytes x || y, got ${pub.length}`)
  return { curve: curveIds.p256, pubX: bytesToHex(pub.subarray(0, 32)), pubY: bytesToHex(pub.subarray(32)), sig: sig.signature }
}
