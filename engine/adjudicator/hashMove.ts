import { bytesToHex, type Hex } from 'viem'
import { eip712Types, hashChanvmMessage, hashStruct } from '../channel/eip712.ts'
import { getChannelId } from '../channel/getChannelId.ts'
import type { ChannelParams, State } from '../channel/types.ts'

/** EIP-712 types of the move a mover signs for `forceProgress` (`Adjudicator.MOVE_TYPEHASH`). */
export const moveTypes = { Move: eip712Types.Move } as const

/**
 * The EIP-712 digest a mover signs to apply `action` to `from` on chain: type
 * `Move(bytes32 channelId,uint64 version,bytes32 stateHash,uint256 mover,bytes action)` under the
 * chanvm domain, where `stateHash` is the EIP-712 struct hash of `from`. Binding the exact base
 * state means a signed move cannot be replayed on another state of the same version.
 *
 * @example
 * ```ts
 * const digest = hashMove(params, from, 0n, escrowActions.release())
 * ```
 */
export function hashMove(params: ChannelParams, from: State, mover: bigint, action: Hex): Hex {
  return hashChanvmMessage(params.chainId, params.adjudicator, 'Move', {
    channelId: getChannelId(params),
    version: from.version,
    stateHash: bytesToHex(hashStruct('State', from)),
    mover,
    action,
  })
}
