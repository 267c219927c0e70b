export type { PeerTransport, PeerMessage, WireState, WireParams, WireProposal } from './types.ts'
export { createMemoryHub, type MemoryHub, type UnacknowledgedDelivery } from './createMemoryTransport.ts'
