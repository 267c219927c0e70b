import type { Hex } from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from './createAdjudicatorClient.ts'
import { toAdjudicatorError } from './toAdjudicatorError.ts'

/** A channel's record on chain. */
export type ChannelRecord = {
  /** `open`: no state held; `disputed`: a state is held and its timeout runs (or ran out); `concluded`: paid out. */
  status: 'open' | 'disputed' | 'concluded'
  /** Version of the state held (of the state paid out, once concluded). */
  version: bigint
  /** Unix seconds from which `conclude` is possible; 0 when no dispute runs. */
  finalizesAt: bigint
  /** Wei the channel holds. */
  holdings: bigint
  /** EIP-712 struct hash of the state held (zero when none). */
  stateHash: Hex
  /** Whether the state held came from `forceProgress`: a co-signed state of the same version replaces it. */
  forced: boolean
}

const statuses = ['open', 'disputed', 'concluded'] as const

/**
 * Reads a channel's on-chain record (`Adjudicator.channelRecord`).
 *
 * @example
 * ```ts
 * const rec = await getChannelRecord(client, channelId)
 * if (rec.status === 'disputed') console.log('concludable at', rec.finalizesAt)
 * ```
 */
export async function getChannelRecord(client: AdjudicatorClient, channelId: Hex, opts: { blockNumber?: bigint } = {}): Promise<ChannelRecord> {
  try {
    const [version, finalizesAt, status, holdings, stateHash, forced] = await client.publicClient.readContract({
      address: client.address,
      abi: Adjudicator.abi,
      functionName: 'channelRecord',
      args: [channelId],
      ...(opts.blockNumber === undefined ? {} : { blockNumber: opts.blockNumber }),
    })
    return { status: statuses[status] ?? 'open', version, finalizesAt: BigInt(finalizesAt), holdings, stateHash, forced }
  } catch (e) {
    throw toAdjudicatorError(e, { action: 'getChannelRecord', channelId })
  }
}
