import type { Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

/** A channel's record on chain. */
export type ChannelRecord = {
  /** `open`: no state held; `disputed`: a state is held and the dispute runs (or ran out); `concluded`: paid out. */
  status: 'open' | 'disputed' | 'concluded'
  /** Version of the state held (of the state paid out, once concluded). */
  version: bigint
  /**
   * Version of the co-signed state the state held grew from: equal to `version` when the state
   * held is co-signed, below it when it ends a chain of forced steps. A co-signed state replaces
   * the state held iff its version is above this (see {@link outranksHeld}).
   */
  baseVersion: bigint
  /** Whether the state held came from `forceProgress` (`version > baseVersion`). */
  forced: boolean
  /** Unix seconds from which `conclude` is possible (0 when no dispute runs). Forced steps push it to at most `movesUntil + challengeDuration`. */
  finalizesAt: bigint
  /** Unix seconds until which `forceProgress` is accepted: the dispute's opening time plus the challenge duration (0 when no dispute runs). */
  movesUntil: bigint
  /** Wei the channel holds. */
  holdings: bigint
  /** EIP-712 struct hash of the state held (zero when none). */
  stateHash: Hex
}

const statuses = ['open', 'disputed', 'concluded'] as const

/**
 * Reads a channel's on-chain record (`Adjudicator.channelRecord`), at the head or at `blockNumber`.
 *
 * @example
 * ```ts
 * const rec = await getChannelRecord(client, channelId)
 * if (rec.status === 'disputed') console.log('forced steps until', rec.movesUntil, 'concludable at', rec.finalizesAt)
 * ```
 */
export async function getChannelRecord(
  client: AdjudicatorClient,
  channelId: Hex,
  opts: { blockNumber?: bigint } = {},
): Promise<ChannelRecord> {
  try {
    const [status, version, baseVersion, finalizesAt, movesUntil, holdings, stateHash] =
      await client.publicClient.readContract({
        address: client.address,
        abi: Adjudicator.abi,
        functionName: 'channelRecord',
        args: [channelId],
        ...(opts.blockNumber === undefined ? {} : { blockNumber: opts.blockNumber }),
      })
    return {
      status: statuses[status] ?? 'open',
      version,
      baseVersion,
      forced: version > baseVersion,
      finalizesAt: BigInt(finalizesAt),
      movesUntil: BigInt(movesUntil),
      holdings,
      stateHash,
    }
  } catch (e) {
    throw toAdjudicatorError(e, { action: 'getChannelRecord', channelId })
  }
}
