import type { Address, Hex } from 'viem'
import type { ChannelParams, SignedState, State } from '../../engine/channel/types.ts'
import type { ChanvmErrorCode } from '../../engine/errors.ts'
import type { FundingResult, UpdateResult } from '../../engine/protocol/createParty.ts'

/**
 * Which proposals a party node refuses to sign: those matching every given field. `reason` is
 * sent in the signed reject.
 */
export type RefusalPolicy = {
  reason: string
  /** Only proposals by this participant. */
  mover?: number
  /** Only this exact action. */
  action?: Hex
  /** Only proposals that raise this participant's balance above the latest co-signed one. */
  balanceGrowsFor?: number
}

/** What a party node is started with. */
export type PartyNodeInit = {
  role: string
  privateKey: Hex
  rpcUrl: string
  brokerUrl: string
  params: ChannelParams
  app: 'escrow' | 'tvDelivery' | 'coldChain'
  dataDir: string
  refuse?: RefusalPolicy
}

/** Requests from the orchestrator to a party node (IPC, advanced serialization). */
export type PartyNodeRequest = { id: number } & (
  | { method: 'init'; args: PartyNodeInit }
  | { method: 'open'; args: { params: ChannelParams; initial: State } }
  | { method: 'confirmFunding'; args: { channelId: Hex; deposited: bigint[] } }
  | { method: 'update'; args: { channelId: Hex; action: Hex } }
  | { method: 'latest'; args: { channelId: Hex } }
  | { method: 'waitForVersion'; args: { channelId: Hex; version: bigint; timeoutMs: number } }
  | { method: 'close'; args: Record<string, never> }
)

/** Replies and events from a party node. */
export type PartyNodeReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code: ChanvmErrorCode | 'ERROR' } }
  | { event: 'refused'; version: bigint; reason: string }

/** The results by method, for the typed proxy. */
export type PartyNodeResults = {
  init: Address
  open: SignedState
  confirmFunding: FundingResult
  update: UpdateResult
  latest: SignedState | undefined
  waitForVersion: SignedState
  close: null
}
