// The watcher's driver over an in-memory chain port: a node that drops a log, a reorganisation
// deeper than the kept block hashes, the default confirmations off a local chain, and the
// checkpoint. The chain is a list of blocks with their logs and the channel's record after each.
import assert from 'node:assert/strict'
import { bytesToHex, keccak256, toHex, zeroHash, type Hex } from 'viem'
import { createAdjudicatorClient } from '../../engine/adjudicator/createAdjudicatorClient.ts'
import { hashStateStruct } from '../../engine/channel/hashState.ts'
import type { ForcedChain, SignedState, State } from '../../engine/channel/types.ts'
import { createWatcher, type CreateWatcherOptions } from '../../engine/watcher/createWatcher.ts'
import type { ChainLog, WatcherChain, WatcherEvent, WatcherRecord } from '../../engine/watcher/types.ts'
import { escrowChannel } from '../support/channel.ts'

const { params, channelId } = escrowChannel({ nonce: 991n })
const D = params.challengeDuration

function st(version: bigint, tag = 'cosigned'): State {
  return { channelId, version, balances: [600n, 400n], appData: toHex(tag), isFinal: false }
}
const open: WatcherRecord = {
  status: 'open',
  version: 0n,
  baseVersion: 0n,
  finalizesAt: 0n,
  movesUntil: 0n,
  holdings: 1_000n, // deposited before block 0
  stateHash: zeroHash,
}

type Block = { number: bigint; hash: Hex; timestamp: bigint; logs: ChainLog[]; record: WatcherRecord }
/** A log as a test writes it: the chain adds its place (and a Progressed log's block timestamp). */
type LogBody = ChainLog extends infer L
  ? L extends ChainLog
    ? Omit<L, 'channelId' | 'blockNumber' | 'blockHash' | 'logIndex' | 'txHash' | 'blockTimestamp'>
    : never
  : never

/** A chain in memory: blocks 0..n, each 12 s after the last; `fork` changes the hashes of re-mined blocks. */
function memoryChain() {
  const blocks: Block[] = [
    { number: 0n, hash: keccak256(toHex('genesis')), timestamp: 1_000n, logs: [], record: open },
  ]
  let fork = 0
  const dropOnce = new Set<Hex>()
  const ranges: [bigint, bigint][] = []
  const last = (): Block => blocks[blocks.length - 1] as Block
  const port: WatcherChain = {
    async head() {
      const b = last()
      return { number: b.number, hash: b.hash, timestamp: b.timestamp }
    },
    async blockHash(n) {
      return blocks[Number(n)]?.hash
    },
    async blockTimestamp(block) {
      const b = typeof block === 'bigint' ? blocks[Number(block)] : blocks.find((x) => x.hash === block)
      assert(b !== undefined, `no block ${block}`)
      return b.timestamp
    },
    async logs(from, to, ids) {
      ranges.push([from, to])
      const out: ChainLog[] = []
      for (const b of blocks.slice(Number(from), Number(to) + 1)) {
        for (const l of b.logs) {
          if (!ids.includes(l.channelId)) continue
          if (dropOnce.delete(l.txHash)) continue // the node misses it, once
          out.push(l)
        }
      }
      return out
    },
    async record(_id, atBlock) {
      const b = atBlock === undefined ? last() : blocks[Number(atBlock)]
      assert(b !== undefined, `no state at block ${atBlock}`)
      return b.record
    },
  }
  return {
    port,
    blocks,
    ranges,
    /** Mines a block with these logs and the record after it (default: unchanged). */
    mine(logs: LogBody[] = [], record?: (timestamp: bigint) => WatcherRecord): Block {
      const number = BigInt(blocks.length)
      const hash = keccak256(toHex(`${fork}:${number}`))
      const timestamp = last().timestamp + 12n
      const placed = logs.map((l, i) => ({
        ...l,
        channelId,
        blockNumber: number,
        blockHash: hash,
        logIndex: i,
        txHash: keccak256(toHex(`${fork}:${number}:${i}`)),
        ...(l.type === 'Progressed' ? { blockTimestamp: timestamp } : {}),
      })) as ChainLog[]
      const b = { number, hash, timestamp, logs: placed, record: record?.(timestamp) ?? last().record }
      blocks.push(b)
      return b
    },
    /** The timestamp the next block gets. */
    nextTimestamp: (): bigint => last().timestamp + 12n,
    /** Drops blocks above `n`; the blocks mined next are another fork. */
    reorgTo(n: bigint): void {
      blocks.length = Number(n) + 1
      fork++
    },
    dropOnce,
  }
}

/** A registration at time `t0` that opens a dispute, and the record after it. */
const registration = (state: State, t0: bigint): [LogBody[], () => WatcherRecord] => [
  [{ type: 'Registered', finalizesAt: t0 + D, movesUntil: t0 + D, state }],
  () => disputedAt(state, state.version, t0),
]

const disputedAt = (state: State, baseVersion: bigint, t0: bigint): WatcherRecord => ({
  status: 'disputed',
  version: state.version,
  baseVersion,
  finalizesAt: t0 + D,
  movesUntil: t0 + D,
  holdings: 1_000n,
  stateHash: bytesToHex(hashStateStruct(state)),
})

describe('watcher driver (in-memory chain port)', () => {
  async function start(
    port: WatcherChain,
    latest: SignedState | undefined,
    extra: Partial<CreateWatcherOptions> = {},
    chainId = 31337,
  ) {
    // A client that is never called: the port reads, and nothing here needs a transaction.
    const client = await createAdjudicatorClient({
      rpcUrl: 'http://127.0.0.1:9',
      address: params.adjudicator,
      chainId,
    })
    const events: WatcherEvent[] = []
    const adopted: ForcedChain[] = []
    const watcher = createWatcher({
      client,
      chain: port,
      store: { getLatestSignedState: async () => latest },
      onEvent: (e) => events.push(e),
      onForcedChain: (c) => void adopted.push(c),
      ...extra,
    })
    watcher.watch(params)
    return { watcher, events, adopted }
  }
  const signed = (s: State): SignedState => ({ state: s, signatures: ['0x01', '0x02'] })

  it('a node that drops the Registered log: the record shows it, the dispute is read again, and the whole chain is handed over once', async () => {
    const chain = memoryChain()
    const { watcher, adopted, events } = await start(chain.port, signed(st(2n)), { fromBlock: 1n })
    const b1 = chain.mine(
      [{ type: 'Registered', finalizesAt: 1_012n + D, movesUntil: 1_012n + D, state: st(2n) }],
      (t) => disputedAt(st(2n), 2n, t),
    )
    chain.mine(
      [
        {
          type: 'Progressed',
          finalizesAt: 1_012n + D,
          baseVersion: 2n,
          mover: 1n,
          action: '0xaa',
          state: st(3n, 'f'),
        },
      ],
      () => disputedAt(st(3n, 'f'), 2n, b1.timestamp),
    )
    chain.dropOnce.add(b1.logs[0]?.txHash as Hex)
    await watcher.poll()
    assert.equal(adopted.length, 1, 'adopted after the rebuild')
    assert.deepEqual(adopted[0]?.base, st(2n))
    assert.deepEqual(
      adopted[0]?.moves.map((m) => [m.state.version, m.env.blockNumber, m.env.timestamp]),
      [[3n, 2n, 1_024n]],
    )
    assert(!events.some((e) => e.type === 'registered'), 'the dropped log was not reported as new')
    const reads = chain.ranges.length
    await watcher.poll()
    await watcher.poll()
    assert.equal(chain.ranges.length, reads, 'no new blocks, no further reads: one rebuild per state held')
    assert.equal(adopted.length, 1)
  })

  it('a reorganisation deeper than the kept hashes: reads again from before the oldest kept block', async () => {
    const chain = memoryChain()
    const { watcher, events } = await start(chain.port, undefined, { keepBlocks: 2, autoRefute: false })
    await watcher.poll() // cursor at 0
    for (let i = 0; i < 4; i++) {
      chain.mine()
      await watcher.poll()
    }
    assert.deepEqual(
      watcher.checkpoint().blocks.map((b) => b.number),
      [3n, 4n],
    )
    chain.reorgTo(1n)
    for (let i = 0; i < 2; i++) chain.mine()
    const b = chain.mine(...registration(st(1n), chain.nextTimestamp()))
    await watcher.poll()
    const reorg = events.find((e) => e.type === 'reorg')
    assert(reorg?.type === 'reorg')
    assert.equal(reorg.commonBlock, 2n, 'the block before the oldest kept one')
    assert(events.some((e) => e.type === 'registered' && e.blockNumber === b.number))
    assert.equal(watcher.channel(channelId)?.status, 'disputed')
    assert.equal(watcher.checkpoint().cursor, b.number + 1n)
  })

  it('off a local chain it stays 3 blocks behind the head by default; on chain id 31337, none', async () => {
    for (const [chainId, behind] of [
      [1, 3n],
      [31337, 0n],
    ] as const) {
      const chain = memoryChain()
      const { watcher, events } = await start(chain.port, undefined, { autoRefute: false }, chainId)
      for (let i = 0; i < 5; i++) chain.mine()
      await watcher.poll()
      const b = chain.mine(...registration(st(1n), chain.nextTimestamp()))
      await watcher.poll()
      for (let i = 0n; i < behind; i++) {
        assert(!events.some((e) => e.type === 'registered'), `chain ${chainId}: not read ${i} blocks after`)
        chain.mine()
        await watcher.poll()
      }
      assert(
        events.some((e) => e.type === 'registered' && e.blockNumber === b.number),
        `chain ${chainId}: read`,
      )
    }
  })

  it('resumes from a checkpoint at the block it left, and reads each block once', async () => {
    const chain = memoryChain()
    for (let i = 0; i < 3; i++) chain.mine()
    const first = await start(chain.port, undefined, { autoRefute: false })
    await first.watcher.poll()
    const checkpoint = first.watcher.checkpoint()
    assert.deepEqual(checkpoint, { cursor: 4n, blocks: [{ number: 3n, hash: chain.blocks[3]?.hash }] })
    chain.mine(...registration(st(1n), chain.nextTimestamp()))
    chain.mine()
    chain.ranges.length = 0
    const resumed = await start(chain.port, undefined, { autoRefute: false, fromCheckpoint: checkpoint })
    await resumed.watcher.poll()
    assert.deepEqual(chain.ranges, [[4n, 5n]])
    assert.deepEqual(
      resumed.events.map((e) => e.type),
      ['registered'],
    )
  })
})
