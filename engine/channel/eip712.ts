import { bytesToHex, stringToBytes, type AbiParameterToPrimitiveType, type Address, type Hex } from 'viem'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'
import { keccak256Bytes as keccak256 } from '../crypto/keccak256Bytes.ts'
import { strictHexToBytes } from '../crypto/strictHexToBytes.ts'
import { ChanvmError } from '../errors.ts'
import { stateAbi } from './types.ts'

/**
 * The one EIP-712 path of chanvm: every typed message it signs or verifies (State, Move,
 * Proposal, Reject, Reading, Answer), its type list, its type string and its digest. docs/signing.md
 * describes the result byte by byte.
 *
 * Type lists of the structs Solidity has come from the compiled ABI (`contracts/generated`), so a
 * field added to `State`, `Reading` or `Answer` changes the signed type with the contract. Move,
 * Proposal and Reject are not ABI structs: their fields are listed here once, and the tests hold
 * `Move` to `Adjudicator.MOVE_TYPEHASH`.
 */

type Field = { readonly name: string; readonly type: string }
type AbiTuple = {
  readonly type: string
  readonly internalType?: string
  readonly components: readonly Field[]
}
type FieldsOf<C extends readonly Field[]> = {
  readonly [K in keyof C]: { readonly name: C[K]['name']; readonly type: C[K]['type'] }
}

/** The `{name, type}` list of a struct in the ABI, checked to be the struct `name`. */
function structFields<const P extends AbiTuple>(
  param: P | undefined,
  name: string,
): FieldsOf<P['components']> {
  if (param?.type !== 'tuple' || param.internalType !== `struct ${name}`) {
    throw new Error(
      `the compiled ABI no longer has struct ${name} where chanvm reads it (contracts/generated)`,
    )
  }
  return param.components.map(({ name: n, type }) => ({ name: n, type })) as unknown as FieldsOf<
    P['components']
  >
}

type HarnessFn<N extends string> = Extract<
  (typeof OracleMessagesHarness.abi)[number],
  { type: 'function'; name: N }
>
const harnessFn = (name: string) =>
  OracleMessagesHarness.abi.find((x) => x.type === 'function' && x.name === name)
const readingAbi = (harnessFn('readingDigest') as HarnessFn<'readingDigest'> | undefined)?.inputs[1]
const answerAbi = (harnessFn('answerDigest') as HarnessFn<'answerDigest'> | undefined)?.inputs[1]

/** The EIP-712 types chanvm signs, by name. */
export const eip712Types = {
  /** A channel state (`IApp.transition`'s `State`), co-signed by every participant. */
  State: structFields(stateAbi, 'State'),
  /** A step a mover signs for `Adjudicator.forceProgress`; `stateHash` is the struct hash of the state it applies to. */
  Move: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'version', type: 'uint64' },
    { name: 'stateHash', type: 'bytes32' },
    { name: 'mover', type: 'uint256' },
    { name: 'action', type: 'bytes' },
  ],
  /** A proposed step off chain; `stateHash` is the post-state's digest, `actionHash` keccak256 of the action. */
  Proposal: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'version', type: 'uint64' },
    { name: 'stateHash', type: 'bytes32' },
    { name: 'mover', type: 'uint256' },
    { name: 'actionHash', type: 'bytes32' },
    { name: 'blockNumber', type: 'uint64' },
    { name: 'timestamp', type: 'uint64' },
  ],
  /** A refusal off chain; `reasonHash` is keccak256 of `reason + "\n" + message` (UTF-8). */
  Reject: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'version', type: 'uint64' },
    { name: 'stateHash', type: 'bytes32' },
    { name: 'reasonHash', type: 'bytes32' },
  ],
  /** A device reading (`OracleMessages.Reading`), under the oracle domain. */
  Reading: structFields(readingAbi, 'Reading'),
  /** An oracle answer (`OracleMessages.Answer`), under the oracle domain. */
  Answer: structFields(answerAbi, 'Answer'),
} as const

export type Eip712TypeName = keyof typeof eip712Types
/** The message of a type: bigints for integers, `0x` hex for bytes, as viem's typed data takes it. */
export type Eip712Message<T extends Eip712TypeName> = AbiParameterToPrimitiveType<{
  type: 'tuple'
  components: (typeof eip712Types)[T]
}>

/** Domain of channel messages (State, Move, Proposal, Reject): bound to a chain and an Adjudicator. */
export const CHANVM_DOMAIN_NAME = 'chanvm'
/** Domain of oracle messages (Reading, Answer): bound to a chain only. */
export const ORACLE_DOMAIN_NAME = 'chanvm-oracle'
export const DOMAIN_VERSION = '1'

/** The EIP-712 domain chanvm signs channel messages under, for viem's typed-data functions. */
export function chanvmDomain(chainId: bigint, adjudicator: Address) {
  return {
    name: CHANVM_DOMAIN_NAME,
    version: DOMAIN_VERSION,
    chainId,
    verifyingContract: adjudicator,
  } as const
}

/** `encodeType` of EIP-712 for chanvm's flat types: `Name(type1 name1,type2 name2,...)`. */
export function encodeType(name: Eip712TypeName): string {
  return `${name}(${eip712Types[name].map((f) => `${f.type} ${f.name}`).join(',')})`
}

const typeHashes = new Map<Eip712TypeName, Uint8Array>()
/** `keccak256(encodeType(name))`, cached. */
export function typeHash(name: Eip712TypeName): Uint8Array {
  let h = typeHashes.get(name)
  if (h === undefined) typeHashes.set(name, (h = keccak256(stringToBytes(encodeType(name)), 'bytes')))
  return h
}

const bad = (field: string, what: string) => new ChanvmError('INVALID_ARGUMENT', `EIP-712 ${field}: ${what}`)

function hexBytes(value: unknown, field: string, length?: number): Uint8Array {
  const b = strictHexToBytes(value, length)
  if (b === undefined) throw bad(field, length === undefined ? 'not 0x hex' : `not ${length} bytes of 0x hex`)
  return b
}

/** Writes `value` big-endian into the `bytes` low bytes of the word at `offset` (the word is zero). */
function writeUnsigned(buf: Uint8Array, offset: number, value: bigint, bytes: number): void {
  let v = value
  for (let i = offset + 31; i > offset + 31 - bytes; i--) {
    buf[i] = Number(v & 0xffn)
    v >>= 8n
  }
}

/** Writes a uint256 big-endian at `offset`; throws RangeError outside [0, 2^256). */
export function writeUint256(buf: Uint8Array, offset: number, value: bigint): void {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`uint256 out of range: ${value}`)
  writeUnsigned(buf, offset, value, 32)
}

type Encoder = (buf: Uint8Array, offset: number, value: unknown) => void

/** The encoder of one atomic or array EIP-712 type into its 32-byte word (`encodeData`). */
function encoderOf(type: string, field: string): Encoder {
  if (type.endsWith('[]')) {
    const inner = encoderOf(type.slice(0, -2), `${field}[]`)
    return (buf, offset, value) => {
      if (!Array.isArray(value)) throw bad(field, 'not an array')
      const packed = new Uint8Array(32 * value.length)
      value.forEach((v, i) => inner(packed, 32 * i, v))
      buf.set(keccak256(packed, 'bytes'), offset)
    }
  }
  if (type === 'bytes')
    return (buf, offset, value) => buf.set(keccak256(hexBytes(value, field), 'bytes'), offset)
  if (type === 'string') {
    return (buf, offset, value) => {
      if (typeof value !== 'string') throw bad(field, 'not a string')
      buf.set(keccak256(stringToBytes(value), 'bytes'), offset)
    }
  }
  if (type === 'bool') {
    return (buf, offset, value) => {
      if (typeof value !== 'boolean') throw bad(field, 'not a boolean')
      buf[offset + 31] = value ? 1 : 0
    }
  }
  if (type === 'address') return (buf, offset, value) => buf.set(hexBytes(value, field, 20), offset + 12)
  const fixed = /^bytes([1-9]|[12][0-9]|3[0-2])$/.exec(type)
  if (fixed !== null) {
    const n = Number(fixed[1])
    return (buf, offset, value) => buf.set(hexBytes(value, field, n), offset)
  }
  const int =
    /^(u?)int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)$/.exec(
      type,
    )
  if (int !== null) {
    const bits = BigInt(int[2] ?? 256)
    const bytes = Number(bits) / 8
    const signed = int[1] === ''
    const min = signed ? -(1n << (bits - 1n)) : 0n
    const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n
    return (buf, offset, value) => {
      if (typeof value !== 'bigint' || value < min || value > max)
        throw bad(field, `not a ${type}: ${String(value)}`)
      // Signed values are sign-extended to 256 bits (two's complement), as abi.encode does.
      if (value < 0n) writeUnsigned(buf, offset, (1n << 256n) + value, 32)
      else writeUnsigned(buf, offset, value, bytes)
    }
  }
  throw new Error(`EIP-712 type ${type} is not supported here`)
}

type StructEncoder = {
  readonly fields: readonly string[]
  readonly encoders: readonly Encoder[]
  readonly hash: Uint8Array
}
const structEncoders = new Map<Eip712TypeName, StructEncoder>()
function structEncoder(name: Eip712TypeName): StructEncoder {
  let e = structEncoders.get(name)
  if (e === undefined) {
    const list = eip712Types[name]
    e = {
      fields: list.map((f) => f.name),
      encoders: list.map((f) => encoderOf(f.type, `${name}.${f.name}`)),
      hash: typeHash(name),
    }
    structEncoders.set(name, e)
  }
  return e
}

/**
 * `hashStruct` of EIP-712: `keccak256(typeHash || encodeData(message))`, one 32-byte word per
 * field (integers big-endian, signed ones sign-extended; `bytes`, `string` and arrays as the
 * keccak256 of their contents). Throws `INVALID_ARGUMENT` for a value outside its type.
 *
 * @example
 * ```ts
 * const stateHash = hashStruct('State', state) // what Adjudicator stores as the held state's hash
 * ```
 */
export function hashStruct<T extends Eip712TypeName>(name: T, message: Eip712Message<T>): Uint8Array {
  const { fields, encoders, hash } = structEncoder(name)
  const buf = new Uint8Array(32 * (fields.length + 1))
  buf.set(hash, 0)
  const m = message as Record<string, unknown>
  for (let i = 0; i < fields.length; i++) (encoders[i] as Encoder)(buf, 32 * (i + 1), m[fields[i] as string])
  return keccak256(buf, 'bytes')
}

const domainTypeHash = (fields: string) => keccak256(stringToBytes(`EIP712Domain(${fields})`), 'bytes')
const CHANVM_DOMAIN_TYPEHASH = domainTypeHash(
  'string name,string version,uint256 chainId,address verifyingContract',
)
const ORACLE_DOMAIN_TYPEHASH = domainTypeHash('string name,string version,uint256 chainId')
const VERSION_HASH = keccak256(stringToBytes(DOMAIN_VERSION), 'bytes')

const domainCache = new Map<string, Uint8Array>()
function cachedDomain(key: string, make: () => Uint8Array): Uint8Array {
  let sep = domainCache.get(key)
  if (sep === undefined) {
    sep = make()
    if (domainCache.size > 10_000) domainCache.clear()
    domainCache.set(key, sep)
  }
  return sep
}

/** The domain separator of channel messages for `(chainId, adjudicator)`, cached. */
export function chanvmDomainSeparator(chainId: bigint, adjudicator: Address): Uint8Array {
  return cachedDomain(`${chainId}:${adjudicator.toLowerCase()}`, () => {
    const buf = new Uint8Array(160)
    buf.set(CHANVM_DOMAIN_TYPEHASH, 0)
    buf.set(keccak256(stringToBytes(CHANVM_DOMAIN_NAME), 'bytes'), 32)
    buf.set(VERSION_HASH, 64)
    writeUint256(buf, 96, chainId)
    buf.set(hexBytes(adjudicator, 'domain.verifyingContract', 20), 140)
    return keccak256(buf, 'bytes')
  })
}

/** The domain separator of oracle messages on `chainId`, cached. */
export function oracleDomainSeparator(chainId: bigint): Uint8Array {
  return cachedDomain(`oracle:${chainId}`, () => {
    const buf = new Uint8Array(128)
    buf.set(ORACLE_DOMAIN_TYPEHASH, 0)
    buf.set(keccak256(stringToBytes(ORACLE_DOMAIN_NAME), 'bytes'), 32)
    buf.set(VERSION_HASH, 64)
    writeUint256(buf, 96, chainId)
    return keccak256(buf, 'bytes')
  })
}

/** `keccak256(0x19 || 0x01 || domainSeparator || structHash)`: the 32 bytes that are signed. */
export function typedDigest(domainSeparator: Uint8Array, structHash: Uint8Array): Uint8Array {
  const buf = new Uint8Array(66)
  buf[0] = 0x19
  buf[1] = 0x01
  buf.set(domainSeparator, 2)
  buf.set(structHash, 34)
  return keccak256(buf, 'bytes')
}

/**
 * The digest of a channel message under the chanvm domain of `(chainId, adjudicator)`.
 *
 * @example
 * ```ts
 * const digest = hashChanvmMessage(params.chainId, params.adjudicator, 'Reject', { channelId, version, stateHash, reasonHash })
 * ```
 */
export function hashChanvmMessage<T extends 'State' | 'Move' | 'Proposal' | 'Reject'>(
  chainId: bigint,
  adjudicator: Address,
  name: T,
  message: Eip712Message<T>,
): Hex {
  return bytesToHex(typedDigest(chanvmDomainSeparator(chainId, adjudicator), hashStruct(name, message)))
}

/**
 * The digest of an oracle message under the oracle domain of `chainId`.
 *
 * @example
 * ```ts
 * const digest = hashOracleMessage(31337n, 'Answer', { questionId, answer, timestamp })
 * ```
 */
export function hashOracleMessage<T extends 'Reading' | 'Answer'>(
  chainId: bigint,
  name: T,
  message: Eip712Message<T>,
): Hex {
  return bytesToHex(typedDigest(oracleDomainSeparator(chainId), hashStruct(name, message)))
}
