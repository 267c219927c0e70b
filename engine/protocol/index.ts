export { createParty, type Party, type PartyOptions, type PartyEvent, type UpdateResult, type RefusalReason, type AppCode, type ProposedStep, type ForcedStep } from './createParty.ts'
export { hashProposal, hashReject } from './messageDigests.ts'
