// A ChanvmNode that records every call and answers from fixed data, for the HTTP API tests: what
// the API sends the node (or never sends it) is the thing under test.
import type { Address, Hex } from 'viem'
import { ChanvmError } from '../../engine/errors.ts'
import type { UpdateResult } from '../../engine/protocol/types.ts'
import type {
  AppAction,
  ChannelSummary,
  ChanvmNode,
  DisputePlan,
  NodeEvent,
  NodeHealth,
  NodeMetrics,
  OpenRequest,
} from '../../node/types.ts'

export const KNOWN_CHANNEL = `0x${'ab'.repeat(32)}` as Hex
export const NODE_ADDRESS = '0x00000000000000000000000000000000000000a1' as Address
export const PEER_ADDRESS = '0x00000000000000000000000000000000000000b2' as Address

export const summary: ChannelSummary = {
  channelId: KNOWN_CHANNEL,
  app: 'escrow',
  participants: [NODE_ADDRESS, PEER_ADDRESS],
  me: 0,
  status: 'open',
  phase: 'open',
  version: 7n,
  balances: [10n ** 18n, 2n ** 200n],
  isFinal: false,
  onChain: { status: 'open', version: 0n, baseVersion: 0n, finalizesAt: 0n, movesUntil: 0n },
}

export const plan: DisputePlan = {
  channelId: KNOWN_CHANNEL,
  ours: { version: 7n, balances: [1n, 2n], isFinal: false },
  next: { step: 'register', gas: 120_000n, feeWei: 3n * 10n ** 14n },
  payouts: [1n, 2n],
  worthIt: true,
}

export type Call =
  | { method: 'open'; request: OpenRequest }
  | { method: 'act'; channelId: Hex; action: AppAction }
  | { method: 'list' }
  | { method: 'show'; channelId: Hex }
  | { method: 'cancelOpen'; channelId: Hex }
  | { method: 'disputePlan'; channelId: Hex }
  | { method: 'disputeStep'; channelId: Hex; options: { force?: boolean } | undefined }
  | { method: 'close' }

export type FakeNode = ChanvmNode & {
  calls: Call[]
  emit(event: NodeEvent): void
  listeners: number
  /** The next `act` resolves with this (default a co-signed state). */
  actResult: UpdateResult | (() => Promise<UpdateResult>)
  /** The next call of any method throws this, once. */
  failNext: unknown
  metricsValue: NodeMetrics
  healthValue: NodeHealth
}

/** A fresh recording node. Only {@link KNOWN_CHANNEL} exists; other ids are CHANNEL_NOT_FOUND. */
export function createFakeNode(): FakeNode {
  const listeners = new Set<(e: NodeEvent, id: number) => void>()
  let lastEventId = 0
  const known = (channelId: Hex) => {
    if (channelId !== KNOWN_CHANNEL)
      throw new ChanvmError('CHANNEL_NOT_FOUND', 'no such channel', { channelId })
  }
  const node: FakeNode = {
    address: NODE_ADDRESS,
    party: {} as ChanvmNode['party'],
    calls: [],
    failNext: undefined,
    actResult: {
      ok: true,
      signed: {
        state: { channelId: KNOWN_CHANNEL, version: 8n, balances: [5n, 0n], appData: '0x', isFinal: false },
        signatures: [`0x${'11'.repeat(65)}`],
      },
      gasUsed: 51_234n,
    },
    healthValue: {
      ready: true,
      broker: { up: true, url: 'mqtt://127.0.0.1:1883', since: 1_800_000_000_000 },
      chain: { up: true, url: 'http://127.0.0.1:8545', since: 1_800_000_000_000 },
    },
    metricsValue: {
      steps: 12,
      refusals: { refused: 2, 'bad-signature': 1 },
      readings: { accepted: 40, stale: 3 },
      disputes: 1,
      gasSpent: 987_654n,
      channels: 1,
    },
    get listeners() {
      return listeners.size
    },
    emit: (e) => {
      lastEventId++
      for (const l of listeners) l(e, lastEventId)
    },
    async open(request) {
      node.calls.push({ method: 'open', request })
      fail()
      return { ...summary, app: request.app }
    },
    async act(channelId, action) {
      node.calls.push({ method: 'act', channelId, action })
      fail()
      known(channelId)
      return typeof node.actResult === 'function' ? node.actResult() : node.actResult
    },
    async list() {
      node.calls.push({ method: 'list' })
      fail()
      return [summary]
    },
    async show(channelId) {
      node.calls.push({ method: 'show', channelId })
      fail()
      known(channelId)
      return summary
    },
    async cancelOpen(channelId) {
      node.calls.push({ method: 'cancelOpen', channelId })
      fail()
      known(channelId)
      return { ...summary, status: 'cancelled', phase: 'opening' }
    },
    async disputePlan(channelId) {
      node.calls.push({ method: 'disputePlan', channelId })
      fail()
      known(channelId)
      return plan
    },
    async disputeStep(channelId, options) {
      node.calls.push({ method: 'disputeStep', channelId, options })
      fail()
      known(channelId)
      return plan
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    metrics: () => node.metricsValue,
    health: () => node.healthValue,
    async close() {
      node.calls.push({ method: 'close' })
    },
  }
  function fail(): void {
    const error = node.failNext
    if (error === undefined) return
    node.failNext = undefined
    throw error
  }
  return node
}
