import { bytesToHex, concatBytes, hexToBytes, keccak256, stringToBytes, type Address, type Hex } from 'viem'
import type { State } from './types.ts'

const DOMAIN_TYPEHASH = keccak256(
  stringToBytes('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
  'bytes',
)
const NAME_HASH = keccak256(stringToBytes('chanvm'), 'bytes')
const VERSION_HASH = keccak256(stringToBytes('1'), 'bytes')
/** `keccak256("State(bytes32 channelId,uint64 version,uint256[] balances,bytes appData,bool isFinal)")` */
export const STATE_TYPEHASH = keccak256(
  stringToBytes('State(bytes32 channelId,uint64 version,uint256[] balances,bytes appData,bool isFinal)'),
  'bytes',
)

/** The EIP-712 domain chanvm signs under. */
export function chanvmDomain(chainId: bigint, adjudicator: Address) {
  return { name: 'chanvm', version: '1', chainId, verifyingContract: adjudicator } as const
}

/** EIP-712 types of a State, for viem's `signTypedData` and `hashTypedData`. */
export const stateTypes = {
  State: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'version', type: 'uint64' },
    { name: 'balances', type: 'uint256[]' },
    { name: 'appData', type: 'bytes' },
    { name: 'isFinal', type: 'bool' },
  ],
} as const

export function writeUint256(buf: Uint8Array, offset: number, value: bigint): void {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`uint256 out of range: ${value}`)
  let v = value
  for (let i = offset + 31; i >= offset; i--) {
    buf[i] = Number(v & 0xffn)
    v >>= 8n
  }
}

const domainCache = new Map<string, Uint8Array>()

/** The EIP-712 domain separator for `(chainId, adjudicator)`, cached. */
export function domainSeparator(chainId: bigint, adjudicator: Address): Uint8Array {
  const key = `${chainId}:${adjudicator.toLowerCase()}`
  let sep = domainCache.get(key)
  if (sep === undefined) {
    const buf = new Uint8Array(160)
    buf.set(DOMAIN_TYPEHASH, 0)
    buf.set(NAME_HASH, 32)
    buf.set(VERSION_HASH, 64)
    writeUint256(buf, 96, chainId)
    buf.set(hexToBytes(adjudicator), 140)
    sep = keccak256(buf, 'bytes')
    if (domainCache.size > 10_000) domainCache.clear()
    domainCache.set(key, sep)
  }
  return sep
}

/** The EIP-712 struct hash of a State. */
export function hashStateStruct(state: State): Uint8Array {
  if (state.version < 0n || state.version >= 1n << 64n) throw new RangeError(`version out of uint64 range: ${state.version}`)
  const packed = new Uint8Array(32 * state.balances.length)
  state.balances.forEach((b, i) => writeUint256(packed, 32 * i, b))
  const buf = new Uint8Array(192)
  buf.set(STATE_TYPEHASH, 0)
  const id = hexToBytes(state.channelId)
  if (id.length !== 32) throw new RangeError(`channelId must be 32 bytes, got ${id.length}`)
  buf.set(id, 32)
  writeUint256(buf, 64, state.version)
  buf.set(keccak256(packed, 'bytes'), 96)
  buf.set(keccak256(hexToBytes(state.appData), 'bytes'), 128)
  buf[191] = state.isFinal ? 1 : 0
  return keccak256(buf, 'bytes')
}

/** `keccak256("\x19\x01" || domainSeparator || structHash)` as bytes. */
export function typedDigest(domain: Uint8Array, structHash: Uint8Array): Uint8Array {
  return keccak256(concatBytes([new Uint8Array([0x19, 0x01]), domain, structHash]), 'bytes')
}

/**
 * The EIP-712 digest every participant signs for a state, identical to `StateDigest.digest` in
 * Solidity and to viem's `hashTypedData` with {@link chanvmDomain} and {@link stateTypes}.
 *
 * @example
 * ```ts
 * const digest = hashState(params.chainId, params.adjudicator, state)
 * ```
 */
export function hashState(chainId: bigint, adjudicator: Address, state: State): Hex {
  return bytesToHex(typedDigest(domainSeparator(chainId, adjudicator), hashStateStruct(state)))
}
