import { isAddress, pad, type Address, type Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'

/**
 * The signer id of a secp256k1 key: its address left-padded to 32 bytes (lower case), as Solidity
 * `OracleMessages.idOfAddress`. Throws `INVALID_ARGUMENT` for a malformed address.
 *
 * @example
 * ```ts
 * addressToSignerId('0x70997970C51812dc3A010C7d01b50e0d17dc79C8') // 0x00000000000000000000000070997970c5…
 * ```
 */
export function addressToSignerId(address: Address): Hex {
  if (!isAddress(address, { strict: false }))
    throw new ChanvmError('INVALID_ARGUMENT', `not an address: ${String(address)}`)
  return pad(address.toLowerCase() as Hex, { size: 32 })
}
