export type { PeerTransport, PeerMessage, WireState, WireParams } from './types.ts'
export { createMemoryHub, type MemoryHub } from './createMemoryTransport.ts'
