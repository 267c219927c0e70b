import {
  encodeEventTopics,
  formatLog,
  parseEventLogs,
  toHex,
  type Hex,
  type RpcBlock,
  type RpcLog,
} from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { AdjudicatorClient } from '../adjudicator/createAdjudicatorClient.ts'
import { getChannelRecord } from '../adjudicator/getChannelRecord.ts'
import { ChanvmError } from '../errors.ts'
import type { ChainLog, WatcherChain } from './types.ts'

const watchedEvents = ['Deposited', 'Registered', 'Progressed', 'Concluded'] as const

/**
 * The {@link WatcherChain} over JSON-RPC: `eth_getLogs` filtered by the Adjudicator's address,
 * its four channel events and the channel ids; `eth_getBlockByNumber` / `ByHash` for hashes and
 * timestamps (cached by hash); `channelRecord` through `getChannelRecord`. Logs marked `removed`
 * are dropped; `Progressed` logs get their block's timestamp.
 *
 * @example
 * ```ts
 * const watcher = createWatcher({ client, store, chain: createViemWatcherChain(client) })
 * ```
 */
export function createViemWatcherChain(client: AdjudicatorClient): WatcherChain {
  const request = client.publicClient.request
  const timestamps = new Map<string, bigint>()
  const topics = watchedEvents.map(
    (eventName) => encodeEventTopics({ abi: Adjudicator.abi, eventName })[0] as Hex,
  )

  const getBlock = async (block: bigint | Hex | 'latest'): Promise<RpcBlock | null> =>
    typeof block === 'bigint' || block === 'latest'
      ? ((await request({
          method: 'eth_getBlockByNumber',
          params: [block === 'latest' ? block : toHex(block), false],
        })) as RpcBlock | null)
      : ((await request({ method: 'eth_getBlockByHash', params: [block, false] })) as RpcBlock | null)

  const blockTimestamp = async (block: bigint | Hex): Promise<bigint> => {
    const cached = typeof block === 'string' ? timestamps.get(block.toLowerCase()) : undefined
    if (cached !== undefined) return cached
    const b = await getBlock(block)
    if (b === null || b.hash === null) {
      throw new ChanvmError('CHAIN_ERROR', `block ${block} not found`)
    }
    const ts = BigInt(b.timestamp)
    if (timestamps.size > 4_096) timestamps.clear()
    timestamps.set(b.hash.toLowerCase(), ts)
    return ts
  }

  return {
    async head() {
      const b = await getBlock('latest')
      if (b === null || b.hash === null || b.number === null)
        throw new ChanvmError('CHAIN_ERROR', 'no latest block')
      return { number: BigInt(b.number), hash: b.hash, timestamp: BigInt(b.timestamp) }
    },
    async blockHash(n) {
      const b = await getBlock(n)
      return b?.hash ?? undefined
    },
    blockTimestamp,
    async logs(from, to, channelIds) {
      if (channelIds.length === 0 || from > to) return []
      const raw = (await request({
        method: 'eth_getLogs',
        params: [
          {
            address: client.address,
            fromBlock: toHex(from),
            toBlock: toHex(to),
            topics: [topics, [...channelIds]],
          },
        ],
      })) as RpcLog[]
      const parsed = parseEventLogs({
        abi: Adjudicator.abi,
        logs: raw.filter((l) => l.removed !== true).map((l) => formatLog(l)),
        strict: true,
      })
      const out: ChainLog[] = []
      for (const l of parsed) {
        if (
          l.blockNumber === null ||
          l.blockHash === null ||
          l.logIndex === null ||
          l.transactionHash === null
        )
          continue
        const place = {
          blockNumber: l.blockNumber,
          blockHash: l.blockHash,
          logIndex: l.logIndex,
          txHash: l.transactionHash,
        }
        switch (l.eventName) {
          case 'Deposited':
            out.push({
              type: 'Deposited',
              channelId: l.args.channelId,
              ...place,
              participant: l.args.participant,
              amount: l.args.amount,
              deposited: l.args.deposited,
              holdings: l.args.holdings,
            })
            break
          case 'Registered':
            out.push({
              type: 'Registered',
              channelId: l.args.channelId,
              ...place,
              finalizesAt: BigInt(l.args.finalizesAt),
              movesUntil: BigInt(l.args.movesUntil),
              state: l.args.state,
            })
            break
          case 'Progressed':
            out.push({
              type: 'Progressed',
              channelId: l.args.channelId,
              ...place,
              finalizesAt: BigInt(l.args.finalizesAt),
              baseVersion: l.args.baseVersion,
              mover: l.args.mover,
              action: l.args.action,
              state: l.args.state,
              blockTimestamp: await blockTimestamp(l.blockHash),
            })
            break
          case 'Concluded':
            out.push({
              type: 'Concluded',
              channelId: l.args.channelId,
              ...place,
              version: l.args.version,
              payouts: l.args.payouts,
            })
            break
        }
      }
      out.sort((a, b) =>
        a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
      )
      return out
    },
    async record(channelId, atBlock) {
      const r = await getChannelRecord(
        client,
        channelId,
        atBlock === undefined ? {} : { blockNumber: atBlock },
      )
      return {
        status: r.status,
        version: r.version,
        baseVersion: r.baseVersion,
        finalizesAt: r.finalizesAt,
        movesUntil: r.movesUntil,
        holdings: r.holdings,
        stateHash: r.stateHash,
      }
    },
  }
}
