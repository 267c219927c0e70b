import type { Hex } from 'viem'
import { signDigest } from '../crypto/signDigest.ts'
import type { ChannelParams, State } from '../channel/types.ts'
import { hashMove } from './hashMove.ts'

/**
 * Signs a move for `forceProgress` with the mover's key (65 bytes, low s, v 27/28).
 *
 * @example
 * ```ts
 * const moverSignature = signMove(params, from, 0n, action, alicePrivateKey)
 * await forceProgress(client, { params, from, mover: 0n, action, moverSignature })
 * ```
 */
export function signMove(
  params: ChannelParams,
  from: State,
  mover: bigint,
  action: Hex,
  privateKey: Hex,
): Hex {
  return signDigest(hashMove(params, from, mover, action), privateKey)
}
