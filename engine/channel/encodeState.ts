import { encodeAbiParameters, type Hex } from 'viem'
import { stateAbi, type State } from './types.ts'

const MAX_UINT64 = (1n << 64n) - 1n
const MAX_UINT256 = (1n << 256n) - 1n
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/
const BYTES32 = /^0x[0-9a-fA-F]{64}$/

const word = (v: bigint) => v.toString(16).padStart(64, '0')
const isUint = (v: unknown, max: bigint): v is bigint => typeof v === 'bigint' && v >= 0n && v <= max

/** `bytes` as ABI encodes it after its offset: the length, then the bytes right-padded to 32 (no `0x`, the digits' case kept, as viem keeps it). */
export function abiBytesTail(b: Hex): string {
  const body = b.slice(2)
  return word(BigInt(body.length / 2)) + body.padEnd(Math.ceil(body.length / 64) * 64, '0')
}

/**
 * The ABI encoding of a State tuple's own contents (what follows its offset when it is a
 * parameter), as hex without `0x`, byte for byte what viem writes; `undefined` when a field is
 * not a well-formed value in range (viem then says what is wrong).
 */
export function stateTupleHex(s: State): string | undefined {
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.channelId !== 'string' ||
    !BYTES32.test(s.channelId) ||
    !isUint(s.version, MAX_UINT64) ||
    !Array.isArray(s.balances) ||
    !s.balances.every((b) => isUint(b, MAX_UINT256)) ||
    typeof s.appData !== 'string' ||
    !HEX_BYTES.test(s.appData) ||
    typeof s.isFinal !== 'boolean'
  )
    return undefined
  // (bytes32 channelId, uint64 version, uint256[] balances, bytes appData, bool isFinal)
  const balances = word(BigInt(s.balances.length)) + s.balances.map(word).join('')
  const balancesAt = 5 * 32
  const appDataAt = balancesAt + balances.length / 2
  return (
    s.channelId.slice(2) +
    word(s.version) +
    word(BigInt(balancesAt)) +
    word(BigInt(appDataAt)) +
    word(s.isFinal ? 1n : 0n) +
    balances +
    abiBytesTail(s.appData)
  )
}

/**
 * `abi.encode(state)`: the canonical bytes of a state. Two states are the same state exactly when
 * these bytes are equal; the off-chain/on-chain equivalence tests compare them. Written directly
 * when every field is well formed and in range (byte for byte viem's `encodeAbiParameters`), by
 * viem otherwise, throwing what it throws.
 *
 * @example
 * ```ts
 * assert.equal(encodeState(offChain), encodeState(onChain))
 * ```
 */
export function encodeState(state: State): Hex {
  const tuple = stateTupleHex(state)
  // One dynamic tuple as a parameter list: its offset (0x20), then its contents.
  if (tuple !== undefined) return `0x${word(32n)}${tuple}`
  return encodeAbiParameters([stateAbi], [state])
}
