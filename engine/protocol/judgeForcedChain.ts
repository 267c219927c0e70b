import { bytesToHex } from 'viem'
import { hashStateStruct } from '../channel/hashState.ts'
import type { ForcedChain, State } from '../channel/types.ts'

/** Why a forced chain is not adopted over a party's latest co-signed state. */
export type ForcedBaseReason =
  /** Its base is below the latest co-signed version: it rewrote co-signed history. */
  | 'older-base'
  /** Its base has the latest co-signed version but is another state. */
  | 'different-base'

/**
 * Whether a party may adopt a forced chain, given its latest co-signed state: only a chain whose
 * base is above that state's version, or is that very state (same EIP-712 struct hash) at its
 * version. A chain over an older base rewrote co-signed history (`older-base`); one over another
 * state of the same version (`different-base`) is not ours either. Neither is adopted.
 *
 * The one adoption rule: the watcher hands a chain over (or reports an overwrite) by it, and the
 * party's {@link decideForcedChain} applies it before re-running the moves.
 *
 * @example
 * ```ts
 * const verdict = judgeForcedChain(chain, latest?.state)
 * if (verdict === 'adopt') await party.adoptForcedChain(chain)
 * ```
 */
export function judgeForcedChain(
  chain: ForcedChain,
  latestCoSigned: State | undefined,
): 'adopt' | ForcedBaseReason {
  if (latestCoSigned === undefined || chain.base.version > latestCoSigned.version) return 'adopt'
  if (chain.base.version < latestCoSigned.version) return 'older-base'
  const same = bytesToHex(hashStateStruct(chain.base)) === bytesToHex(hashStateStruct(latestCoSigned))
  return same ? 'adopt' : 'different-base'
}
