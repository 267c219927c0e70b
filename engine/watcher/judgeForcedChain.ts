import { bytesToHex } from 'viem'
import { hashStateStruct } from '../channel/hashState.ts'
import type { ForcedChain, State } from '../channel/types.ts'
import type { OverwriteReason } from './types.ts'

/**
 * Whether a party may adopt a forced chain, given its latest co-signed state: only a chain whose
 * base is above that state's version, or is that very state (same struct hash) at its version.
 * A chain over an older base rewrote co-signed history (`older-base`); one over another state of
 * the same version (`different-base`) is not ours either. Neither is adopted.
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
): 'adopt' | OverwriteReason {
  if (latestCoSigned === undefined || chain.base.version > latestCoSigned.version) return 'adopt'
  if (chain.base.version < latestCoSigned.version) return 'older-base'
  const same = bytesToHex(hashStateStruct(chain.base)) === bytesToHex(hashStateStruct(latestCoSigned))
  return same ? 'adopt' : 'different-base'
}
