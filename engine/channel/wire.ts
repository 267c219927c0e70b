import type { Address, Hex } from 'viem'
import type { WireParams, WireState } from '../transport/types.ts'
import type { ChannelParams, State } from './types.ts'
import { ChanvmError } from '../errors.ts'
import { canonicalSignature } from '../crypto/canonicalSignature.ts'

const HEX = /^0x[0-9a-fA-F]*$/
const DEC = /^(0|[1-9][0-9]{0,77})$/

const MAX_UINT256 = (1n << 256n) - 1n

function big(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !DEC.test(v))
    throw new ChanvmError('INVALID_ARGUMENT', `${what} must be a decimal string`)
  const n = BigInt(v)
  if (n > MAX_UINT256) throw new ChanvmError('INVALID_ARGUMENT', `${what} exceeds uint256`)
  return n
}
function hex(v: unknown, what: string, bytes?: number): Hex {
  if (typeof v !== 'string' || !HEX.test(v) || v.length % 2 !== 0)
    throw new ChanvmError('INVALID_ARGUMENT', `${what} must be 0x-prefixed hex`)
  if (bytes !== undefined && v.length !== 2 + 2 * bytes)
    throw new ChanvmError('INVALID_ARGUMENT', `${what} must be ${bytes} bytes`)
  return v as Hex
}

/** A State as JSON-safe wire data (bigints as decimal strings). */
export function stateToWire(s: State): WireState {
  return {
    channelId: s.channelId,
    version: s.version.toString(),
    balances: s.balances.map(String),
    appData: s.appData,
    isFinal: s.isFinal,
  }
}

/** Parses wire data back into a State; throws ChanvmError('INVALID_ARGUMENT') on malformed input. */
export function wireToState(w: WireState): State {
  if (typeof w !== 'object' || w === null || !Array.isArray(w.balances) || typeof w.isFinal !== 'boolean') {
    throw new ChanvmError('INVALID_ARGUMENT', 'malformed state')
  }
  const version = big(w.version, 'version')
  if (version >= 1n << 64n) throw new ChanvmError('INVALID_ARGUMENT', 'version exceeds uint64')
  return {
    channelId: hex(w.channelId, 'channelId', 32),
    version,
    balances: w.balances.map((b, i) => big(b, `balances[${i}]`)),
    appData: hex(w.appData, 'appData'),
    isFinal: w.isFinal,
  }
}

/** ChannelParams as JSON-safe wire data. */
export function paramsToWire(p: ChannelParams): WireParams {
  return {
    chainId: p.chainId.toString(),
    adjudicator: p.adjudicator,
    participants: [...p.participants],
    app: p.app,
    appCodeHash: p.appCodeHash,
    challengeDuration: p.challengeDuration.toString(),
    nonce: p.nonce.toString(),
  }
}

/** Parses wire data back into ChannelParams. */
export function wireToParams(w: WireParams): ChannelParams {
  if (typeof w !== 'object' || w === null || !Array.isArray(w.participants))
    throw new ChanvmError('INVALID_ARGUMENT', 'malformed params')
  return {
    chainId: big(w.chainId, 'chainId'),
    adjudicator: hex(w.adjudicator, 'adjudicator', 20) as Address,
    participants: w.participants.map((a, i) => hex(a, `participants[${i}]`, 20) as Address),
    app: hex(w.app, 'app', 20) as Address,
    appCodeHash: hex(w.appCodeHash, 'appCodeHash', 32),
    challengeDuration: big(w.challengeDuration, 'challengeDuration'),
    nonce: big(w.nonce, 'nonce'),
  }
}

/**
 * A 65-byte signature from wire data, in its canonical form (`0x` and 130 lower-case hex digits;
 * see `canonicalSignature`). Throws ChanvmError('INVALID_ARGUMENT') for any other string, such as
 * `0X…`, an odd length or a non-hex character, which viem would silently misread. Whether the
 * signature is valid is for `recoverDigestSigner` to say.
 */
export function wireToSignature(v: unknown, what = 'signature'): Hex {
  const sig = canonicalSignature(v)
  if (sig === undefined) throw new ChanvmError('INVALID_ARGUMENT', `${what} must be 0x and 130 hex digits`)
  return sig
}
