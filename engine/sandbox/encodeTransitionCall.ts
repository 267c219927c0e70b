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
const encodedParams = new WeakMap<ChannelParams, { of: string; hex: string }>()

const word = (v: bigint) => v.toString(16).padStart(64, '0')
const isUint = (v: unknown, max: bigint): v is bigint => typeof v === 'bigint' && v >= 0n && v <= max
/** The fields of params that its encoding depends on, as one string (to tell whether an object changed). */
const paramsKey = (p: ChannelParams) =>
  `${p.chainId}|${p.adjudicator}|${p.participants.join(',')}|${p.app}|${p.appCodeHash}|${p.challengeDuration}|${p.nonce}`

/** The `ChannelParams` tuple encoded on its own (what follows its offset in the call), by viem, once per params object. */
function paramsTail(p: ChannelParams): string {
  const of = paramsKey(p)
  const hit = encodedParams.get(p)
  if (hit !== undefined && hit.of === of) return hit.hex
  // As a parameter list of one dynamic tuple: its offset (0x20), then the tuple's own encoding.
  const list = encodeAbiParameters([channelParamsAbi], [p]).slice(2)
  if (list.slice(0, 64) !== word(32n)) throw new Error('unexpected encoding of the params')
  const hex = list.slice(64)
  encodedParams.set(p, { of, hex })
  return hex
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
  const state = stateTupleHex(from)
  const simple =
    state !== undefined &&
    isUint(mover, MAX_UINT256) &&
    typeof action === 'string' &&
    HEX_BYTES.test(action) &&
    isUint(env.blockNumber, MAX_UINT64) &&
    isUint(env.timestamp, MAX_UINT64)
  if (!simple)
    return encodeFunctionData({
      abi: IApp.abi,
      functionName: 'transition',
      args: [params, from, mover, action, env],
    })
  let p: string
  try {
    p = paramsTail(params)
  } catch {
    // Let viem say what is wrong with the params, as it would for the whole call.
    return encodeFunctionData({
      abi: IApp.abi,
      functionName: 'transition',
      args: [params, from, mover, action, env],
    })
  }
  // transition head: offset(params), offset(from), mover, offset(action), env (two words inline)
  const head = 6 * 32
  const paramsAt = head
  const fromAt = paramsAt + p.length / 2
  const actionAt = fromAt + state.length / 2
  return `0x${SELECTOR}${word(BigInt(paramsAt))}${word(BigInt(fromAt))}${word(mover)}${word(BigInt(actionAt))}${word(env.blockNumber)}${word(env.timestamp)}${p}${state}${abiBytesTail(action)}`
}
