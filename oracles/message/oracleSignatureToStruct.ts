import { bytesToHex, type Hex } from 'viem'
import { strictHexToBytes } from '../../engine/crypto/strictHexToBytes.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { curveIds, type OracleSigStruct, type OracleSignature } from './types.ts'

const ZERO: Hex = `0x${'00'.repeat(32)}`

/**
 * The Solidity `OracleSig` struct for a signature, ready to ABI-encode into an app action:
 * `{curve: 1, pubX: 0, pubY: 0, sig}` for secp256k1, `{curve: 2, pubX, pubY, sig}` for P-256, every
 * byte string in lower-case hex. Throws `INVALID_ARGUMENT` for a signature or public key that is
 * not `0x` and hex digits (viem would encode such a string as other bytes), or a P-256 public key
 * that is not 64 bytes.
 *
 * @example
 * ```ts
 * const action = encodeAbiParameters(abi, [reading, oracleSignatureToStruct(signed.signature)])
 * ```
 */
export function oracleSignatureToStruct(sig: OracleSignature): OracleSigStruct {
  const bytes = strictHexToBytes(sig.signature)
  if (bytes === undefined) throw new ChanvmError('INVALID_ARGUMENT', 'signature must be 0x and hex digits')
  const signature = bytesToHex(bytes)
  if (sig.curve === 'secp256k1') return { curve: curveIds.secp256k1, pubX: ZERO, pubY: ZERO, sig: signature }
  const pub = strictHexToBytes(sig.publicKey)
  if (pub === undefined)
    throw new ChanvmError('INVALID_ARGUMENT', 'P-256 public key must be 0x and hex digits')
  if (pub.length !== 64)
    throw new ChanvmError('INVALID_ARGUMENT', `P-256 public key must be 64 bytes x || y, got ${pub.length}`)
  return {
    curve: curveIds.p256,
    pubX: bytesToHex(pub.subarray(0, 32)),
    pubY: bytesToHex(pub.subarray(32)),
    sig: signature,
  }
}
