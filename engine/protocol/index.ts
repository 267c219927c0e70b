export { createParty } from './createParty.ts'
export type {
  AdoptResult,
  AppCode,
  FundingResult,
  Party,
  PartyEvent,
  PartyOptions,
  ProposedStep,
  RefusalReason,
  UpdateResult,
} from './types.ts'
export { channelPhase, type ChannelPhase } from './channelPhase.ts'
export { decideProposal, type ProposalFacts, type ProposalDecision } from './decideProposal.ts'
export { decideCommit, type CommitFacts, type CommitDecision } from './decideCommit.ts'
export { decideAccept, type AcceptFacts, type AcceptDecision } from './decideAccept.ts'
export { decideReject, type RejectFacts, type RejectDecision } from './decideReject.ts'
export { decideOpen, type OpenFacts, type OpenDecision } from './decideOpen.ts'
export { decideSync, type SyncFacts, type SyncDecision } from './decideSync.ts'
export { decideForcedChain, type ForcedChainDecision } from './decideForcedChain.ts'
export { judgeForcedChain, type ForcedBaseReason } from './judgeForcedChain.ts'
export { decideFunding } from './decideFunding.ts'
export { hashProposal, hashReject } from './messageDigests.ts'
