import { encodeAbiParameters, encodeFunctionData, toFunctionSelector, type Hex } from 'viem'
import { IApp } from '../../contracts/generated/IApp.ts'
import { channelParamsAbi, type ChannelParams, type Env, type State } from '../channel/types.ts'
import { abiBytesTail, stateTupleHex } from '../channel/encodeState.ts'

const SELECTOR = toFunctionSelector(
  IApp.abi.find((x) => x.type === 'function' && x.name === 'transition') as Parameters<
    typeof toFunctionSelector
  >[0],
).slice(2)
const MAX_UINT64 = (1n << 64n) - 1n
const MAX_UINT256 = (1n << 256n) - 1n
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/

/** The encoded `ChannelParams` tuple of a params object, kept with the object with the fields it was taken of. */
const encodedParams = new WeakMap<ChannelParams, { of: string; hex: string; isHex: boolean }>()
const HEX_DIGITS = /^[0-9a-fA-F]*$/

const word = (v: bigint) => v.toString(16).padStart(64, '0')
const isUint = (v: unknown, max: bigint): v is bigint => typeof v === 'bigint' && v >= 0n && v <= max
/** The fields of params that its encoding depends on, as one string (to tell whether an object changed). */
const paramsKey = (p: ChannelParams) =>
  `${p.chainId}|${p.adjudicator}|${p.participants.join(',')}|${p.app}|${p.appCodeHash}|${p.challengeDuration}|${p.nonce}`

/**
 * The `ChannelParams` tuple encoded on its own (what follows its offset in the call), by viem, once
 * per params object, and whether it is hex digits only (viem does not check every field's digits).
 */
function paramsEncoding(p: ChannelParams): { hex: string; isHex: boolean } {
  const of = paramsKey(p)
  const hit = encodedParams.get(p)
  if (hit !== undefined && hit.of === of) return hit
  // As a parameter list of one dynamic tuple: its offset (0x20), then the tuple's own encoding.
  const list = encodeAbiParameters([channelParamsAbi], [p]).slice(2)
  if (list.slice(0, 64) !== word(32n)) throw new Error('unexpected encoding of the params')
  const hex = list.slice(64)
  const entry = { of, hex, isHex: HEX_DIGITS.test(hex) }
  encodedParams.set(p, entry)
  return entry
}

/**
 * The calldata of `IApp.transition(params, from, mover, action, env)`, byte for byte what viem's
 * `encodeFunctionData` gives and throwing what it throws. The channel's params are encoded by
 * viem once per params object; the state, mover, action and env are written directly when every
 * value is in range and well formed, and anything else goes to viem whole.
 *
 * @example
 * ```ts
 * const data = encodeTransitionCall(params, from, 0n, action, env)
 * ```
 */
export function encodeTransitionCall(
  params: ChannelParams,
  from: State,
  mover: bigint,
  action: Hex,
  env: Env,
): Hex {
  return (
    direct(params, from, mover, action, env)?.hex ??
    encodeFunctionData({
      abi: IApp.abi,
      functionName: 'transition',
      args: [params, from, mover, action, env],
    })
  )
}

/**
 * The call written directly, when every value is in range and well formed, with whether every
 * part of it is hex digits; undefined for viem to encode.
 */
function direct(
  params: ChannelParams,
  from: State,
  mover: bigint,
  action: Hex,
  env: Env,
): { hex: Hex; isHex: boolean } | undefined {
  const state = stateTupleHex(from)
  const simple =
    state !== undefined &&
    isUint(mover, MAX_UINT256) &&
    typeof action === 'string' &&
    HEX_BYTES.test(action) &&
    isUint(env.blockNumber, MAX_UINT64) &&
    isUint(env.timestamp, MAX_UINT64)
  if (!simple) return undefined
  let p: { hex: string; isHex: boolean }
  try {
    p = paramsEncoding(params)
  } catch {
    // Let viem say what is wrong with the params, as it would for the whole call.
    return undefined
  }
  // transition head: offset(params), offset(from), mover, offset(action), env (two words inline)
  const head = 6 * 32
  const paramsAt = head
  const fromAt = paramsAt + p.hex.length / 2
  const actionAt = fromAt + state.length / 2
  return {
    hex: `0x${SELECTOR}${word(BigInt(paramsAt))}${word(BigInt(fromAt))}${word(mover)}${word(BigInt(actionAt))}${word(env.blockNumber)}${word(env.timestamp)}${p.hex}${state}${abiBytesTail(action)}`,
    isHex: p.isHex,
  }
}

/**
 * {@link encodeTransitionCall} as bytes, when the call is written directly and all of it is hex
 * digits (the state, action and params checked): Buffer's decoder reads it then without a check
 * per character. Undefined otherwise: the hex goes to the sandbox, which checks it.
 */
export function encodeTransitionCallBytes(
  params: ChannelParams,
  from: State,
  mover: bigint,
  action: Hex,
  env: Env,
): Uint8Array | undefined {
  const call = direct(params, from, mover, action, env)
  if (call === undefined || !call.isHex) return undefined
  const bytes = new Uint8Array((call.hex.length - 2) / 2)
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(call.hex.slice(2), 'hex')
  return bytes
}
