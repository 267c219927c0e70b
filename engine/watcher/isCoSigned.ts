import type { ChannelParams, SignedState } from '../channel/types.ts'

/**
 * Whether a stored state carries a signature of every participant, so it can be registered.
 * (Signatures are checked when the protocol stores them; this only counts them.)
 *
 * @example
 * ```ts
 * if (isCoSigned(params, latest)) await register(client, { params, signed: latest })
 * ```
 */
export function isCoSigned(params: ChannelParams, signed: SignedState | undefined): signed is SignedState {
  return signed !== undefined && signed.signatures.length === params.participants.length
}
