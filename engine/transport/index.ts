export type { PeerTransport, PeerMessage, WireState, WireParams, WireProposal } from './types.ts'
export { createMemoryHub, type MemoryHub } from './createMemoryTransport.ts'
